"""A small, real DNS server on loopback for the sender tests (UDP and TCP on one port).

It serves zone texts parsed by dnspython and answers as a recursive resolver would: CNAMEs are
followed across the zones it holds, a missing name is NXDOMAIN, a name without the asked type
is an empty NOERROR answer. Names listed in ``silent`` get no answer at all, so the client
times out exactly as it would against an unreachable server. A UDP answer too long for the
client's buffer is sent truncated, and the client retries over TCP.
"""

from __future__ import annotations

import socketserver
import struct
import threading
from collections.abc import Iterable

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone


class ZoneServer:
    def __init__(self, zones: dict[str, str], silent: Iterable[str] = ()) -> None:
        self.zones = {dns.name.from_text(origin): dns.zone.from_text("$TTL 300\n" + text, origin=origin, relativize=False,
                                                                      check_origin=False)
                      for origin, text in zones.items()}
        self.silent = {dns.name.from_text(name) for name in silent}
        self.queries: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._start()

    def set_zone(self, origin: str, text: str) -> None:
        """Replace (or add) one zone while the server runs, as a clinic editing its DNS would."""
        zone = dns.zone.from_text("$TTL 300\n" + text, origin=origin, relativize=False, check_origin=False)
        with self._lock:
            self.zones = {**self.zones, dns.name.from_text(origin): zone}

    def set_silent(self, *names: str) -> None:
        with self._lock:
            self.silent = {dns.name.from_text(name) for name in names}

    # -- answers -----------------------------------------------------------------------------
    def _zone(self, name: dns.name.Name) -> dns.zone.Zone | None:
        best = None
        for origin, zone in self.zones.items():
            if name.is_subdomain(origin) and (best is None or len(origin) > len(best[0])):
                best = (origin, zone)
        return best[1] if best else None

    def respond(self, wire: bytes) -> dns.message.Message | None:
        query = dns.message.from_wire(wire)
        question = query.question[0]
        with self._lock:
            self.queries.append((question.name.to_text(), dns.rdatatype.to_text(question.rdtype)))
        if question.name in self.silent:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.RA
        name = question.name
        for _hop in range(8):
            zone = self._zone(name)
            node = zone.get_node(name) if zone is not None else None
            if node is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
                break
            found = node.get_rdataset(dns.rdataclass.IN, question.rdtype)
            if found is not None:
                response.answer.append(dns.rrset.from_rdata_list(name, found.ttl, list(found)))
                break
            alias = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.CNAME)
            if alias is None:
                break
            response.answer.append(dns.rrset.from_rdata_list(name, alias.ttl, list(alias)))
            name = alias[0].target
        return response

    # -- transport ---------------------------------------------------------------------------
    def _start(self) -> None:
        server = self

        class Udp(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data, sock = self.request
                response = server.respond(data)
                if response is None:
                    return
                query = dns.message.from_wire(data)
                limit = max(512, query.payload if query.edns >= 0 else 512)
                try:
                    wire = response.to_wire(max_size=limit)
                except dns.exception.TooBig:
                    response.answer.clear()
                    response.flags |= dns.flags.TC
                    wire = response.to_wire()
                sock.sendto(wire, self.client_address)

        class Tcp(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                head = self.request.recv(2)
                if len(head) < 2:
                    return
                (length,) = struct.unpack("!H", head)
                data = b""
                while len(data) < length:
                    chunk = self.request.recv(length - len(data))
                    if not chunk:
                        return
                    data += chunk
                response = server.respond(data)
                if response is not None:
                    wire = response.to_wire()
                    self.request.sendall(struct.pack("!H", len(wire)) + wire)

        for _attempt in range(20):
            udp = socketserver.ThreadingUDPServer(("127.0.0.1", 0), Udp)
            port = udp.server_address[1]
            try:
                tcp = socketserver.ThreadingTCPServer(("127.0.0.1", port), Tcp)
            except OSError:
                udp.server_close()
                continue
            break
        else:  # pragma: no cover - the machine has no free port pair
            raise OSError("no free port for the test DNS server")
        udp.daemon_threads = tcp.daemon_threads = True
        self.port = port
        self._servers = (udp, tcp)
        for srv in self._servers:
            threading.Thread(target=srv.serve_forever, daemon=True).start()

    def close(self) -> None:
        for srv in self._servers:
            srv.shutdown()
            srv.server_close()
