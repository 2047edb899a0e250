// A deliberately misbehaving ndt7 server for client tests: answers every upgrade request
// according to MODE, on 127.0.0.1 and an ephemeral port it prints as "port N" on stdout.
//   wrong-proto  101 with Sec-WebSocket-Protocol: not.ndt7 (the client must refuse)
//   refuse       400 Bad Request (as ndt-server does for a bad subprotocol)
//   abrupt       a correct 101, one server measurement, then the TCP connection is dropped
//                (an abrupt end after the start: not a failure)
// usage: node mock-upgrade.mjs MODE
import crypto from "node:crypto";
import net from "node:net";

const mode = process.argv[2];
const server = net.createServer((sock) => {
  let head = "";
  sock.on("data", (d) => {
    head += d.toString("latin1");
    if (!head.includes("\r\n\r\n")) return;
    const key = /sec-websocket-key:\s*(\S+)/i.exec(head)?.[1] ?? "";
    const accept = crypto.createHash("sha1")
      .update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
    const ok = (proto) => "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" +
      `Connection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: ${proto}\r\n\r\n`;
    if (mode === "wrong-proto") sock.end(ok("not.ndt7"));
    else if (mode === "refuse") sock.end("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    else if (mode === "abrupt") {
      const m = Buffer.from(JSON.stringify({ ConnectionInfo: { Client: "127.0.0.1:1", Server: "127.0.0.1:2", UUID: "mock-uuid" },
        TCPInfo: { MinRTT: 1500, BytesAcked: 1000, BytesReceived: 1000, BytesSent: 1000, BytesRetrans: 0, ElapsedTime: 100000 } }));
      sock.write(ok("net.measurementlab.ndt.v7"));
      sock.write(Buffer.concat([Buffer.from([0x81, 126, m.length >> 8, m.length & 255]), m]));
      sock.write(Buffer.concat([Buffer.from([0x82, 126, 0x10, 0x00]), crypto.randomBytes(4096)]));
      setTimeout(() => sock.destroy(), 300);
    }
  });
  sock.on("error", () => {});
});
server.listen(0, "127.0.0.1", () => console.log("port " + server.address().port));
