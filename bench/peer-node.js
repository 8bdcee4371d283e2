'use strict';
// Event-loop echo peer for bench/run.sh: one process, one thread, TCP and UDP
// echo (RFC 862) on the same port.
// Usage: node peer-node.js PORT [HOST]   (HOST defaults to 127.0.0.1)
const net = require('net');
const dgram = require('dgram');

const port = Number(process.argv[2]);
const host = process.argv[3] || '127.0.0.1';
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error('usage: node peer-node.js PORT [HOST]');
  process.exit(2);
}

let pending = 2;
function ready() {
  if (--pending === 0) console.error(`peer-node: listening on tcp+udp ${host}:${port}`);
}

const tcp = net.createServer((s) => {
  s.setNoDelay(true);
  s.on('error', () => s.destroy()); // resets from clients are not fatal
  s.pipe(s);
});
tcp.on('error', (e) => { console.error(`peer-node: tcp: ${e.message}`); process.exit(1); });
tcp.listen({ port, host, backlog: 4096 }, ready);

const udp = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
udp.on('message', (msg, rinfo) => udp.send(msg, rinfo.port, rinfo.address));
udp.on('error', (e) => { console.error(`peer-node: udp: ${e.message}`); process.exit(1); });
udp.bind(port, host, ready);

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
