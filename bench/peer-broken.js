'use strict';
// Deliberately broken echo peer, used only by bench/selftest.sh to prove that
// echobench detects bad echoes. Never benchmark against it.
// Usage: node peer-broken.js PORT KIND [EVERY]
//   KIND flip:  TCP and UDP echo, but flips one bit of byte number EVERY,
//               2*EVERY, ... (counted over all TCP connections), and of the
//               middle byte of every EVERY-th datagram.
//   KIND short: TCP echo that closes each connection after echoing EVERY
//               bytes; UDP echo that drops the last byte of each datagram.
const net = require('net');
const dgram = require('dgram');

const port = Number(process.argv[2]);
const kind = process.argv[3];
const every = Number(process.argv[4] || 100000);
if (!Number.isInteger(port) || !['flip', 'short'].includes(kind) || !(every > 0)) {
  console.error('usage: node peer-broken.js PORT flip|short [EVERY]');
  process.exit(2);
}

let total = 0; // bytes seen over all TCP connections
let dgrams = 0;
let pending = 2;
function ready() {
  if (--pending === 0) console.error(`peer-broken: ${kind} listening on tcp+udp 127.0.0.1:${port}`);
}

const tcp = net.createServer((s) => {
  let mine = 0;
  let closed = false;
  s.on('error', () => s.destroy());
  s.on('data', (chunk) => {
    if (closed) return;
    const out = Buffer.from(chunk);
    if (kind === 'flip') {
      const start = total;
      total += out.length;
      // flip every byte whose global index is a multiple of `every`
      let k = Math.ceil((start + 1) / every) * every - 1;
      for (; k < total; k += every) out[k - start] ^= 0x01;
      s.write(out);
    } else {
      const room = every - mine;
      mine += out.length;
      if (room <= out.length) {
        s.end(out.subarray(0, Math.max(room, 0)));
        closed = true;
      } else {
        s.write(out);
      }
    }
  });
  s.on('end', () => { if (!closed) s.end(); });
});
tcp.on('error', (e) => { console.error(`peer-broken: tcp: ${e.message}`); process.exit(1); });
tcp.listen({ port, host: '127.0.0.1' }, ready);

const udp = dgram.createSocket('udp4');
udp.on('message', (msg, rinfo) => {
  dgrams++;
  let out = Buffer.from(msg);
  if (kind === 'flip' && dgrams % every === 0) out[out.length >> 1] ^= 0x01;
  if (kind === 'short') out = out.subarray(0, Math.max(out.length - 1, 0));
  udp.send(out, rinfo.port, rinfo.address);
});
udp.on('error', (e) => { console.error(`peer-broken: udp: ${e.message}`); process.exit(1); });
udp.bind(port, '127.0.0.1', ready);

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
