// Network test fixtures shared by network.test.ts and networks.test.ts:
// free host ports, HTTP and UDP clients that retry while a server in a
// container comes up, and an image with a UDP echo server.
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { busyboxEntries, writeDockerArchive } from '../../scripts/fixtures.mjs';
import { ok } from './helpers';

// A UDP echo server (busybox has none): a static binary built here.
const UDP_ECHO = `#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
int main(int argc, char **argv) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
  if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) return 1;
  for (;;) {
    char buf[2048]; struct sockaddr_in p; socklen_t pl = sizeof p;
    ssize_t n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&p, &pl);
    if (n >= 0) sendto(s, buf, n, 0, (struct sockaddr *)&p, pl);
  }
}
`;

/** A host port free right now on 127.0.0.1 (tcp and udp). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ host: '127.0.0.1', port: 0 }, () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function fetchText(url: string): Promise<string> {
  let last: unknown;
  for (let i = 0; i < 40; i++) {
    try {
      const r = await fetch(url);
      return await r.text();
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw last;
}

// One ICMP echo over an unprivileged datagram socket, as iputils' ping sends
// it (busybox's ping, Debian 1.35, wants a raw socket and CAP_NET_RAW):
// prints "reply" and exits 0, 2 when the socket is refused, 3 on no reply.
const ICMP_ECHO = `#include <arpa/inet.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
int main(int argc, char **argv) {
  int s = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
  if (s < 0) { perror("socket"); return 2; }
  struct sockaddr_in to = { .sin_family = AF_INET };
  if (argc < 2 || inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) return 1;
  struct icmphdr h = { .type = ICMP_ECHO, .un.echo.sequence = htons(1) };
  if (sendto(s, &h, sizeof h, 0, (struct sockaddr *)&to, sizeof to) < 0) { perror("sendto"); return 1; }
  struct pollfd p = { .fd = s, .events = POLLIN };
  if (poll(&p, 1, 3000) != 1) { fprintf(stderr, "no reply\\n"); return 3; }
  char buf[256];
  if (recv(s, buf, sizeof buf, 0) < (int)sizeof h || ((struct icmphdr *)buf)->type != ICMP_ECHOREPLY) return 1;
  puts("reply");
  return 0;
}
`;

export function udpRoundTrip(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    let tries = 0;
    const send = () => {
      if (tries++ > 30) {
        s.close();
        reject(new Error('no UDP reply'));
        return;
      }
      s.send(text, port, '127.0.0.1');
      timer = setTimeout(send, 200);
    };
    let timer = setTimeout(send, 0);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(String(m));
    });
  });
}

/** busybox plus /usr/local/bin/udpecho PORT and icmpecho IPV4, loaded as TAG (EXPOSE 80/tcp 7/udp). */
export async function ensureNetImage(work: string, tag: string): Promise<void> {
  const src = join(work, 'udpecho.c');
  writeFileSync(src, UDP_ECHO);
  execFileSync('cc', ['-static', '-O2', '-o', join(work, 'udpecho'), src]);
  writeFileSync(join(work, 'icmpecho.c'), ICMP_ECHO);
  execFileSync('cc', ['-static', '-O2', '-o', join(work, 'icmpecho'), join(work, 'icmpecho.c')]);
  const tar = join(work, 'net.tar');
  await writeDockerArchive(tar, {
    repoTag: tag,
    layers: [
      busyboxEntries([
        { name: 'usr/local/bin/udpecho', content: readFileSync(join(work, 'udpecho')), mode: 0o755 },
        { name: 'usr/local/bin/icmpecho', content: readFileSync(join(work, 'icmpecho')), mode: 0o755 },
      ]),
    ],
    config: { ExposedPorts: { '80/tcp': {}, '7/udp': {} } },
  });
  ok(['load', '-i', tar]);
}
