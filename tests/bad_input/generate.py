#!/usr/bin/env python3
"""Writes the bad-input corpus of tests/bad_input.rs (run from anywhere; rewrites the files next to it).

Each file is one request body (an SQS record body, or an API Gateway body), except lambda/*.json which are
whole Lambda events. tests/bad_input.rs holds what each one must produce; README.md describes them.
Bodies carry no event_timestamp (mapping reads that as "now"), so the corpus does not age.
"""
import base64
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))

# Every source path of src/mapping/fields.rs, plus the other paths mapping reads.
SOURCES = """event_name partners.pinterest.event_id context.event_id partners.pinterest.action_source
context.event_timestamp context.page.url url partners.pinterest.opt_out context.app.namespace context.app.name
context.app.version context.device.manufacturer context.device.network.carrier context.device.model
context.device.type context.device.os.version context.device.network.wifi context.device.lang
context.device.language user.email_sha256 user.email user.phone user.gender user.birthdate user.lastname
user.firstname user.city user.state_short user.state user.zipcode user.country user.id
context.device.advertising_id context.device.ip context.device.user_agent partners.pinterest.click_id id
currency value items search_term partners.pinterest.opt_out_type type context.device.cookie context.cookie
context.device.os.name context.app context.device context.page user partners.pinterest partners context""".split()


def base(event_id):
    return {
        "event_name": "purchase",
        "id": "ORD-1",
        "value": "19.90",
        "currency": "EUR",
        "search_term": "shirts",
        "items": [{"id": "SKU-1", "quantity": 1, "product": {"price": 19.9, "name": "Shirt"}}],
        "user": {"email": "wrong.types@example.org", "phone": "+33612345678", "city": "Paris"},
        "context": {
            "event_id": event_id,
            "page": {"url": "https://shop.example.com/p?epik=abc"},
            "device": {"ip": "198.51.100.7", "user_agent": "UA/1.0", "lang": "fr"},
        },
    }


def put(event, path, value):
    at = event
    parts = path.split(".")
    for part in parts[:-1]:
        if not isinstance(at.get(part), dict):
            at[part] = {}
        at = at[part]
    at[parts[-1]] = value


def write(name, content):
    mode = "wb" if isinstance(content, bytes) else "w"
    with open(os.path.join(HERE, name), mode) as f:
        f.write(content)


def nested(depth, leaf):
    value = leaf
    for _ in range(depth):
        value = {"a": value}
    return value


def main():
    write("not-json-truncated.txt", '{"event_name": "purchase", "context": {"event_id": "t-1"')
    write("not-json-text.txt", "purchase,ev-1,someone@example.org\n")
    write("empty.txt", "")
    write("whitespace.txt", "  \n\t  \r\n")
    write("bom.json", "\ufeff" + json.dumps(base("bom-1")))
    write("scalar-number.json", "42")
    write("scalar-string.json", '"purchase"')
    write("scalar-null.json", "null")
    write("scalar-bool.json", "true")
    write("object-empty.json", "{}")
    write("array-empty.json", "[]")
    write("array-of-scalars.json", '[1, "two", null, [3]]')
    write("events-not-array.json", '{"events": {"event_name": "purchase"}}')
    write("numbers-nan.txt", '{"event_name": "purchase", "value": NaN, "context": {"event_id": "nan-1"}}')
    write("numbers-out-of-range.json",
          '{"event_name": "purchase", "value": 1e400, "context": {"event_id": "oor-1"}}')
    extreme = []
    for i, (path, value) in enumerate([
        ("context.event_timestamp", -9223372036854775808),
        ("context.event_timestamp", 18446744073709551615),
        ("context.event_timestamp", 1e300),
        ("context.event_timestamp", -1e300),
        ("context.event_timestamp", -1),
        ("context.event_timestamp", "-9223372036854775808"),
        ("context.event_timestamp", "99999999999999999999999"),
        ("value", 1.7976931348623157e308),
        ("value", -9223372036854775808),
        ("value", "123456789012345678901234567890.123456789"),
        ("items.0.quantity", -9223372036854775808),
        ("items.0.quantity", 18446744073709551615),
        ("items.0.quantity", 1e300),
        ("items.0.product.price", -1e308),
        ("partners.pinterest.opt_out", 18446744073709551615),
        ("context.device.network.wifi", -0.0),
        ("user.phone", 1e300),
        ("user.birthdate", 99999999),
        ("user.zipcode", -1),
    ]):
        event = base(f"extreme-{i}")
        event["_case"] = f"{path} = {value}"
        if path.startswith("items.0."):
            put(event["items"][0], path[len("items.0."):], value)
        else:
            put(event, path, value)
        extreme.append(event)
    write("numbers-extreme.json", json.dumps(extreme))
    for kind, wrong in [("object", {"unexpected": ["x"]}), ("array", [1, "a"]), ("bool", True)]:
        events = []
        for i, path in enumerate(SOURCES):
            event = base(f"wt-{kind}-{i}")
            event["_wrong"] = path
            put(event, path, wrong)
            events.append(event)
        write(f"wrong-types-{kind}.json", json.dumps(events, indent=1))
    write("deep-nesting-array.json", "[" * 30000 + "]" * 30000)
    deep = base("deep-1")
    deep["context"]["extra"] = nested(200, 1)
    write("deep-nesting-object.json", json.dumps(deep))
    legal = base("deep-legal-1")
    legal["context"]["extra"] = nested(100, 1)
    write("nesting-under-the-limit.json", json.dumps(legal))
    long_name = base("long-name-1")
    long_name["event_name"] = "x" * 50000
    write("huge-string-event-name.json", json.dumps(long_name))
    long_url = base("long-url-1")
    long_url["context"]["page"]["url"] = "https://shop.example.com/p?q=" + "a" * 100000
    write("huge-string-url.json", json.dumps(long_url))
    many = base("many-items-1")
    many["items"] = [{"id": f"SKU-{i}", "quantity": 1} for i in range(5000)]
    write("huge-array-items.json", json.dumps(many))
    many_events = [base(f"many-{i}") for i in range(3)] + [7] * 5000
    write("huge-array-of-non-events.json", json.dumps(many_events))
    write("lone-surrogate.json",
          '{"event_name": "purchase", "user": {"email": "\\ud800"}, "context": {"event_id": "s-1"}}')
    # Only for the API (SQS bodies are valid UTF-8 by construction): invalid UTF-8 inside a string, sent
    # base64-encoded by API Gateway; and a body flagged as base64 that is not.
    write("invalid-utf8.bin",
          b'{"event_name": "purchase", "user": {"email": "\xff\xfe\xfd@example.org"}, "context": {"event_id": "u-1"}}')
    write("not-base64.b64", "%%% this is not base64 %%%")

    lambda_events = {
        "eventbridge.json": {"version": "0", "id": "e1", "detail-type": "Scheduled Event",
                             "source": "aws.events", "detail": {}},
        "s3.json": {"Records": [{"eventSource": "aws:s3", "s3": {"bucket": {"name": "b"}}}]},
        "sns.json": {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": "{}"}}]},
        "mixed-records.json": {"Records": [{"eventSource": "aws:sqs", "messageId": "m-1", "body": "{}"},
                                           {"eventSource": "aws:s3"}]},
        "sqs-records-not-array.json": {"Records": {"eventSource": "aws:sqs", "body": "{}"}},
        "http-api-without-method.json": {"version": "2.0", "requestContext": {"http": {"path": "/"}},
                                         "body": "{}"},
        "rest-api-method-not-string.json": {"httpMethod": 5, "body": "{}"},
        "empty-object.json": {},
        "array.json": [],
        "string.json": "hello",
        "null.json": None,
    }
    for name, event in lambda_events.items():
        write(os.path.join("lambda", name), json.dumps(event))


if __name__ == "__main__":
    main()
