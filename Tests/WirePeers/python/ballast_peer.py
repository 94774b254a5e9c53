#!/usr/bin/env python3
"""A Ballast wire peer in Python (standard library only), written from docs/wire.md.

It dials a coordinator, authenticates as an agent or as an operator (admin), makes calls by their stable
names and prints what it got as one JSON document on stdout. The Swift test suite runs it against a
`coordinator` process, its numbers checked against `coordctl status --json`
(Tests/FleetEndToEndTests/PythonPeerEndToEndTests.swift), and against a coordinator actor for the errors a
leader does not give (Tests/CoordinatorTests/PythonPeerTests.swift).

    ballast_peer.py --port 7420 --secret-file admin.key --role admin --node ops status
    ballast_peer.py --port 7420 --secret-file admin.key --role admin --node ops set-budget 100
    ballast_peer.py --port 7420 --secret-file eu-web.key --role agent --node eu-web report report.json
"""

import argparse
import hashlib
import hmac
import json
import os
import socket
import struct
import sys

MAGIC = b"BLST"
ROLES = {"coordinator": 1, "agent": 2, "admin": 3}
HELLO, PROOF, REFUSAL, CALL, REPLY, HEARTBEAT, GOODBYE = 0x01, 0x02, 0x03, 0x10, 0x11, 0x20, 0x21
PRE_AUTH_LIMIT = 64 * 1024
FRAME_LIMIT = 1024 * 1024


class WireError(Exception):
    pass


class Refused(WireError):
    def __init__(self, code, reason):
        super().__init__(f"refused with close code {code}: {reason}")
        self.code = code
        self.reason = reason


class CallFailed(WireError):
    """An error reply (docs/wire.md §2.5, status 1)."""

    def __init__(self, code, message, detail):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.detail = detail


def string(text):
    data = text.encode("utf-8")
    return struct.pack(">H", len(data)) + data


def blob(data):
    return struct.pack(">I", len(data)) + data


class Reader:
    def __init__(self, payload):
        self.payload = payload
        self.offset = 0

    def take(self, count):
        if self.offset + count > len(self.payload):
            raise WireError("truncated field")
        part = self.payload[self.offset : self.offset + count]
        self.offset += count
        return part

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack(">H", self.take(2))[0]

    def u64(self):
        return struct.unpack(">Q", self.take(8))[0]

    def string(self):
        return self.take(self.u16()).decode("utf-8")

    def blob(self):
        return self.take(struct.unpack(">I", self.take(4))[0])


class Peer:
    def __init__(self, host, port, node, role, secret, timeout=10.0):
        self.node = node
        self.role = role
        self.secret = secret
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.next_call = 1
        self.limit = PRE_AUTH_LIMIT
        self.remote = None

    # §1 frames
    def send(self, payload):
        self.sock.sendall(struct.pack(">I", len(payload)) + payload)

    def read_exact(self, count):
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                raise WireError("connection closed")
            data += chunk
        return data

    def receive(self):
        (length,) = struct.unpack(">I", self.read_exact(4))
        if length > self.limit:
            raise WireError(f"frame of {length} bytes above the limit {self.limit}")
        return self.read_exact(length)

    def receive_message(self):
        """The next payload that is not a heartbeat or a reserved type; a refusal or goodbye raises."""
        while True:
            payload = self.receive()
            kind = payload[0]
            if kind == HEARTBEAT or 0x40 <= kind <= 0x7F:
                continue
            if kind in (REFUSAL, GOODBYE):
                reader = Reader(payload[1:])
                code = reader.u16()
                raise Refused(code, reader.string())
            return payload

    # §3 handshake
    def handshake(self):
        nonce = os.urandom(32)
        my_hello = bytes([HELLO]) + MAGIC + bytes([1, 0, ROLES[self.role]]) + nonce + string(self.node)
        self.send(my_hello)
        their_hello = self.receive_message()
        if their_hello[0] != HELLO:
            raise WireError(f"expected a hello, got type {their_hello[0]:#x}")
        reader = Reader(their_hello[1:])
        if reader.take(4) != MAGIC:
            raise WireError("bad magic")
        major, _minor, role = reader.u8(), reader.u8(), reader.u8()
        reader.take(32)
        remote_node = reader.string()
        if major != 1:
            raise WireError(f"major version {major}")
        # We dialled a coordinator: anything else is not the peer we meant to reach.
        if role != ROLES["coordinator"]:
            raise WireError(f"the peer's role is {role}, not a coordinator")
        transcript = blob(my_hello) + blob(their_hello)
        mine = hmac.new(self.secret, b"ballast-wire-v1 initiator\x00" + transcript, hashlib.sha256).digest()
        theirs = hmac.new(self.secret, b"ballast-wire-v1 responder\x00" + transcript, hashlib.sha256).digest()
        self.send(bytes([PROOF]) + mine)
        # A refusal (authenticationFailed, unknownPeer) may arrive here, after our proof went out.
        proof = self.receive_message()
        if proof[0] != PROOF or not hmac.compare_digest(proof[1:33], theirs):
            # Different secrets: the coordinator finds our proof wrong too and refuses; report its refusal.
            self.send(bytes([REFUSAL]) + struct.pack(">H", 2) + string("the responder's proof did not verify"))
            try:
                self.receive_message()
            except Refused:
                raise
            except (WireError, OSError):
                pass
            raise Refused(2, "the coordinator's proof did not verify")
        self.limit = FRAME_LIMIT
        self.remote = remote_node
        return remote_node

    # §2.4, §2.5, §4 calls
    def call(self, name, *arguments, actor="coordinator"):
        call_id = self.next_call
        self.next_call += 1
        documents = [json.dumps(argument, separators=(",", ":")).encode("utf-8") for argument in arguments]
        payload = (
            bytes([CALL])
            + struct.pack(">Q", call_id)
            + string(self.remote)
            + string(actor)
            + string(name)
            + struct.pack(">H", 0)
            + struct.pack(">H", len(documents))
            + b"".join(blob(document) for document in documents)
        )
        self.send(payload)
        while True:
            reply = self.receive_message()
            if reply[0] == CALL:
                # The coordinator may call the agent on this connection (a leader's launch or drain); this
                # peer hosts no actor (§4, §5.2).
                self.answer_unknown_actor(reply)
                continue
            if reply[0] != REPLY:
                raise WireError(f"expected a reply, got type {reply[0]:#x}")
            reader = Reader(reply[1:])
            if reader.u64() != call_id:
                raise WireError("a reply to a call not in flight")
            if reader.u8() == 0:
                value = reader.blob()
                return json.loads(value) if value else None
            code, message, detail = reader.string(), reader.string(), reader.blob()
            raise CallFailed(code, message, json.loads(detail) if detail else None)

    def answer_unknown_actor(self, call):
        reader = Reader(call[1:])
        call_id = reader.u64()
        node, actor = reader.string(), reader.string()
        self.send(
            bytes([REPLY])
            + struct.pack(">Q", call_id)
            + bytes([1])
            + string("wire.unknown-actor")
            + string(f"{node} hosts no actor named {actor}")
            + blob(b"")
        )

    def goodbye(self):
        self.send(bytes([GOODBYE]) + struct.pack(">H", 0) + string("done"))
        self.sock.close()


def read_secret(path):
    text = open(path, encoding="ascii").read().strip()
    if len(text) != 64:
        raise SystemExit(f"{path}: a secret is 64 hexadecimal characters")
    return bytes.fromhex(text)


def error_json(error):
    return {"code": error.code, "message": error.message, "detail": error.detail}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--node", required=True, help="our node id: the cluster id for an agent")
    parser.add_argument("--role", choices=["agent", "admin"], required=True)
    parser.add_argument("--secret-file", required=True)
    parser.add_argument("command", choices=["report", "status", "set-budget"])
    parser.add_argument(
        "argument", nargs="?", help="report: a file holding the AgentReport JSON; set-budget: the monthly USD"
    )
    options = parser.parse_args()

    peer = Peer(options.host, options.port, options.node, options.role, read_secret(options.secret_file))
    output = {}
    try:
        output["coordinator"] = peer.handshake()
        if options.command == "report":
            with open(options.argument, encoding="utf-8") as file:
                report = json.load(file)
            output["acknowledgement"] = peer.call("fleet.coordinator.report", report)
            # An admin call from an agent: the name exists but not for this role.
            try:
                peer.call("fleet.admin.status")
            except CallFailed as error:
                output["refused"] = error_json(error)
        elif options.command == "status":
            output["status"] = peer.call("fleet.admin.status")
            # A name nobody registered.
            try:
                peer.call("fleet.admin.no-such-call")
            except CallFailed as error:
                output["unknown"] = error_json(error)
        else:
            # A change: a replica that does not lead answers with a typed error of the application.
            budget = {"monthlyUSD": float(options.argument), "regionalMonthlyUSD": {}}
            try:
                output["result"] = peer.call("fleet.admin.set-budget", budget)
            except CallFailed as error:
                output["typedError"] = error_json(error)
        peer.goodbye()
    except Refused as refusal:
        output["refusal"] = {"code": refusal.code, "reason": refusal.reason}
    json.dump(output, sys.stdout, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
