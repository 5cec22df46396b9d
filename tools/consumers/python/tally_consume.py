#!/usr/bin/env python3
"""Follow tally's Kafka topic from Python, as a billing or support team would.

    tally_consume.py --bootstrap LIST [--topic tally.events] [--group G]
                     [--exit-at-end] [--keys FILE] [--generated DIR]

Joins the consumer group G (offsets committed after each record is
printed, so a restart goes on where the group stopped), decodes every
record's envelope and payload with code that `flatc --python` generated from
the shipped events/events.fbs (the build writes it to build/<preset>/python;
never committed), checks what events/TOPIC.md promises, and prints each
event as one JSON line: the same object `tallyctl replay` prints.

Checks (TOPIC.md): the value carries the envelope's file identifier; the
`position` header equals the envelope's position; the record's key is the
event's customer (or its stream when it has none); within a partition
positions rise. A record whose position is not above the last one applied
for its customer is a repeat: skipped and counted (stderr), never printed.
A record that breaks any other rule stops the consumer (exit 1).

Personal fields are sealed with each customer's key (TOPIC.md, "Personal
data"). With --keys (a key backup: `tallyctl keys export`) they are opened
(XChaCha20-Poly1305, PyNaCl) and printed as `replay` prints them; a customer
erased in the backup, or whose CustomerPersonalDataErased the consumer has
seen, shows "personal_data": "erased"; without --keys, "sealed".

Dependencies (PyPI): confluent-kafka, flatbuffers, PyNaCl. Exit codes: 0
(end reached with --exit-at-end, or SIGINT/SIGTERM), 1 (a record broke the
contract), 2 (usage, Kafka errors).
"""

import argparse
import json
import os
import re
import signal
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def load_generated(path):
    sys.path.insert(0, path)
    try:
        from tally.events import Envelope, Payload, PersonalData, RelationshipKind  # noqa: F401
    except ImportError as e:
        sys.exit(f"tally_consume: no code generated from events.fbs in {path} ({e}); build tally first "
                 "(cmake --build --preset release) or give --generated")
    return Envelope, Payload, PersonalData, RelationshipKind


def snake(name):
    """flatc's Python object API names fields in camelCase; the schema (and
    replay's JSON) in snake_case."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def names_of(enum_class):
    return {v: k for k, v in vars(enum_class).items() if not k.startswith("_") and isinstance(v, int)}


class Decoder:
    def __init__(self, generated, keys):
        self.Envelope, Payload, self.PersonalData, RelationshipKind = generated
        self.payload_names = names_of(Payload.Payload)
        # Fields of an enum type (the schema has one); rendered by name as
        # replay does.
        self.enum_fields = {"kind": names_of(RelationshipKind.RelationshipKind)}
        self.keys = keys  # None: no key backup

    def to_json(self, obj):
        out = {}
        for attr, value in vars(obj).items():
            if value is None:
                continue  # an absent string, table or vector: replay leaves it out too
            name = snake(attr)
            if name == "payload":
                continue  # with payload_type below
            if name == "payload_type":
                out["payload_type"] = self.payload_names.get(value, str(value))
                if obj.payload is not None:
                    out["payload"] = self.to_json(obj.payload)
                continue
            if isinstance(value, bytes):
                out[name] = value.decode()  # strings come as UTF-8 bytes
            elif name in self.enum_fields and isinstance(value, int):
                out[name] = self.enum_fields[name].get(value, value)
            elif hasattr(value, "tolist"):
                out[name] = value.tolist()  # a numpy array of bytes
            elif isinstance(value, list):
                out[name] = [self.to_json(v) if hasattr(v, "__dict__") else v for v in value]
            elif hasattr(value, "__dict__"):
                out[name] = self.to_json(value)
            else:
                out[name] = value
        return out

    def decode(self, value):
        if not self.Envelope.Envelope.EnvelopeBufferHasIdentifier(value, 0):
            raise ValueError("the value is not a tally envelope (file identifier TLYE missing)")
        return self.Envelope.EnvelopeT.InitFromBuf(value, self.Envelope.Envelope.GetRootAs(value, 0)._tab.Pos)

    def open_sealed(self, customer, sealed):
        """(visibility, fields) of a sealed blob, as replay shows it."""
        if len(sealed) == 0:
            return "clear", {}
        if self.keys is None:
            return "sealed", {}
        key = self.keys.get(customer)
        if key is None:
            return "erased", {}
        from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_decrypt
        blob = bytes(sealed)
        plain = crypto_aead_xchacha20poly1305_ietf_decrypt(blob[24:], customer.encode(), blob[:24], key)
        data = self.PersonalData.PersonalData.GetRootAs(plain, 0)
        fields = {}
        for name in ("email", "first_name", "last_name", "address_line1", "address_line2", "address_line3",
                     "phone_number"):
            getter = getattr(data, "".join(p.capitalize() for p in name.split("_")))
            v = getter()
            fields[name] = v.decode() if v is not None else ""
        return "clear", fields

    def render(self, env):
        """The JSON object replay prints for this envelope."""
        out = self.to_json(env)
        payload = out.get("payload")
        customer = env.customerId.decode() if isinstance(env.customerId, bytes) else (env.customerId or "")
        if payload is None:
            return out
        if "sealed_contact" in payload:
            visibility, f = self.open_sealed(customer, payload.pop("sealed_contact"))
            payload["personal_data"] = visibility
            if visibility == "clear":
                for name in ("first_name", "last_name", "email", "phone_number"):
                    payload[name] = f.get(name, "")
        profile = payload.get("billing_profile")
        if profile is not None and "sealed_personal_data" in profile:
            visibility, f = self.open_sealed(customer, profile.pop("sealed_personal_data"))
            profile["personal_data"] = visibility
            if visibility == "clear":
                profile["email"] = f.get("email", "")
                address = profile.get("default_address")
                if address is None:
                    raise ValueError("a billing profile with personal fields has no default address")
                for name in ("first_name", "last_name", "address_line1", "address_line2", "address_line3",
                             "phone_number"):
                    address[name] = f.get(name, "")
        if out.get("payload_type") == "CustomerPersonalDataErased" and self.keys is not None:
            self.keys[customer] = None  # the key is gone from here on
        return out


def load_keys(path):
    keys = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            record = json.loads(line)
            if "key" in record:
                keys[record["customer"]] = bytes.fromhex(record["key"])
            elif "erasedAt" in record:
                keys[record["customer"]] = None
            else:
                raise ValueError(f"{path} line {n}: neither key nor erasedAt")
    return keys


def text(value):
    return value.decode() if isinstance(value, bytes) else (value or "")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bootstrap", required=True, help="Kafka bootstrap.servers")
    parser.add_argument("--topic", default="tally.events")
    parser.add_argument("--group", default="tally-consume-python", help="consumer group (offsets are committed)")
    parser.add_argument("--exit-at-end", action="store_true", help="stop once the assigned partitions are read")
    parser.add_argument("--keys", help="a key backup (tallyctl keys export) that opens personal fields")
    parser.add_argument("--generated", default=os.environ.get("TALLY_PYTHON_EVENTS",
                                                              os.path.join(REPO, "build", "release", "python")),
                        help="folder of the code flatc generated from events.fbs (default: build/release/python)")
    args = parser.parse_args()

    from confluent_kafka import Consumer, KafkaError, TopicPartition

    decoder = Decoder(load_generated(args.generated), load_keys(args.keys) if args.keys else None)
    consumer = Consumer({
        "bootstrap.servers": args.bootstrap,
        "group.id": args.group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "enable.partition.eof": args.exit_at_end,
        # Committed records only: the relay produces in transactions (librdkafka's default; Java's is not).
        "isolation.level": "read_committed",
    })
    stopping = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.append(True))
    assigned, at_end = set(), set()

    def on_assign(c, partitions):
        assigned.update(p.partition for p in partitions)

    def on_revoke(c, partitions):
        for p in partitions:
            assigned.discard(p.partition)
            at_end.discard(p.partition)

    consumer.subscribe([args.topic], on_assign=on_assign, on_revoke=on_revoke)
    last_of_customer, last_of_partition = {}, {}
    printed = repeats = 0
    out = sys.stdout
    try:
        while not stopping:
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    # The end of what is committed so far; the partition's end only at its
                    # high watermark (a transaction's commit is answered before its marker).
                    marks = consumer.get_watermark_offsets(TopicPartition(args.topic, msg.partition()), cached=True)
                    if marks is None or msg.offset() >= marks[1]:
                        at_end.add(msg.partition())
                    if args.exit_at_end and assigned and at_end >= assigned:
                        break
                    continue
                print(f"tally_consume: {msg.error()}", file=sys.stderr)
                if msg.error().fatal():
                    return 2
                continue
            at_end.discard(msg.partition())
            where = f"partition {msg.partition()} offset {msg.offset()}"
            try:
                env = decoder.decode(msg.value())
            except Exception as e:  # noqa: BLE001: any decoding failure is a broken record
                print(f"tally_consume: {where}: {e}", file=sys.stderr)
                return 1
            headers = {k: v.decode() for k, v in (msg.headers() or [])}
            position = env.position
            if headers.get("position") != str(position):
                print(f"tally_consume: {where}: header position {headers.get('position')} but the event is at "
                      f"{position}", file=sys.stderr)
                return 1
            customer = text(env.customerId) or text(env.streamId)
            if (msg.key() or b"").decode() != customer:
                print(f"tally_consume: {where}: key {msg.key()!r} but the event's customer is {customer}",
                      file=sys.stderr)
                return 1
            if position <= last_of_customer.get(customer, 0):
                repeats += 1  # TOPIC.md: a repeat; already applied
            else:
                if position <= last_of_partition.get(msg.partition(), 0):
                    print(f"tally_consume: {where}: position {position} after "
                          f"{last_of_partition[msg.partition()]} in one partition", file=sys.stderr)
                    return 1
                try:
                    line = decoder.render(env)
                except Exception as e:  # noqa: BLE001
                    print(f"tally_consume: {where}: {e}", file=sys.stderr)
                    return 1
                out.write(json.dumps(line, separators=(",", ": "), ensure_ascii=False) + "\n")
                out.flush()
                printed += 1
                last_of_customer[customer] = position
                last_of_partition[msg.partition()] = position
            consumer.commit(message=msg, asynchronous=False)
    finally:
        consumer.close()
        print(f"tally_consume: {printed} events printed, {repeats} repeats skipped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
