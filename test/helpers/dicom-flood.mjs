// A connection flood against a DICOM port, run as its own process by the flood test:
//   node dicom-flood.mjs PORT SILENT TRICKLING
// SILENT connections never send a byte, each from its own loopback address (127.0.1.x); TRICKLING ones all
// come from 127.0.2.1 and send a valid A-ASSOCIATE-RQ one byte a second. Every connection the server
// closes is opened again 100 ms later, so the flood lasts until this process is killed. Each second it
// prints one line of JSON: connections open, and how many the server closed so far.
import { connect } from 'node:net';

const [port, silent, trickling] = process.argv.slice(2).map(Number);
const rq = Buffer.from(process.env.FLOOD_RQ_HEX ?? '', 'hex');
let open = 0;
let closedByServer = 0;

function flood(localAddress, trickle) {
  const s = connect({ host: '127.0.0.1', port, localAddress });
  let timer;
  let connected = false;
  s.on('connect', () => {
    connected = true;
    open++;
    if (!trickle) return;
    let sent = 0;
    timer = setInterval(() => {
      if (sent < rq.length) s.write(rq.subarray(sent, ++sent));
    }, 1000);
  });
  s.on('error', () => undefined);
  s.on('close', () => {
    clearInterval(timer);
    if (connected) {
      open--;
      closedByServer++;
    }
    setTimeout(() => flood(localAddress, trickle), 100);
  });
}

for (let i = 0; i < silent; i++) flood(`127.0.1.${1 + i}`, false);
for (let i = 0; i < trickling; i++) flood('127.0.2.1', true);
setInterval(() => process.stdout.write(`${JSON.stringify({ open, closedByServer })}\n`), 1000);
