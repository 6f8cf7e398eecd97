//! Benchmark inputs: a realistic web purchase event (about 1.7 KB, 11 hashed personal-data fields, 3 items), the
//! documented Commanders Act examples, and SQS batches made of them.

use serde_json::{Value, json};

/// "Now" for every benchmark, in Unix seconds: events are stamped a minute before it.
pub const NOW: i64 = 1_795_983_300;

/// The realistic event number `n`: every event differs in its ids, e-mail and phone, as a real batch would.
pub fn realistic(n: usize) -> Value {
    json!({
        "event_name": "purchase",
        "id": format!("ORD-2026-{n:07}"),
        "value": 79.85,
        "revenue": 66.54,
        "currency": "usd",
        "tax_amount": 13.31,
        "shipping_amount": 4.9,
        "payment_method": "card",
        "coupon": "WINTER10",
        "user": {
            "id": format!("CUST-{n:08}"),
            "email": format!(" Toto.Dupont+{n}@Domain.com "),
            "phone": format!("(415) 555-{:04}", n % 10_000),
            "firstname": "Toto",
            "lastname": "Dupont",
            "gender": "male",
            "birthdate": "1990-02-01",
            "city": "San Francisco",
            "state": "California",
            "zipcode": "94107-1234",
            "country": "US",
            "consent_categories": [1, 3]
        },
        "items": [
            {"id": "SKU_12345", "quantity": 2, "price": 19.95, "variant": "red",
             "product": {"id": "12345", "name": "Trex tshirt", "category_1": "clothes", "category_2": "t-shirts", "brand": "Lacoste", "price": 19.95}},
            {"id": "SKU_12346", "quantity": 1,
             "product": {"id": "12346", "name": "Heart tshirt", "category_1": "clothes", "category_2": "t-shirts", "brand": "Jenyfuen", "price": 20}},
            {"id": "SKU_22001", "quantity": 1, "price": 19.95,
             "product": {"id": "22001", "name": "Dino socks", "category_1": "accessories", "brand": "Lacoste", "price": 19.95}}
        ],
        "context": {
            "event_id": format!("9b2f3c1e-5d4a-4f7b-8e6c-{n:012}"),
            "event_timestamp": (NOW - 60) * 1000,
            "page": {
                "url": format!("https://shop.example.com/checkout/confirmation?order=ORD-2026-{n:07}&utm_source=pinterest"),
                "title": "Order confirmation",
                "referrer": "https://shop.example.com/checkout/payment"
            },
            "device": {
                "ip": "203.0.113.45",
                "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
                "lang": "en-US",
                // The click id arrives in the `_epik` cookie: Pinterest puts `epik` on the landing page's URL only.
                "cookie": "_ga=GA1.2.1234567890.1732871234; _epik=dj0yJnU9SXpJRGZxVDBhY1hxa2Z0dWV5cC1nUHFqaXpmNXZmZ0omcD0yJm49ZV9qSFFHTm9WMXcxUXEzbm1nMGtXQSZ0PUFBQUFBR2RIbzNR; _fbp=fb.1.1732871234.1234567890",
                "timezone": "America/Los_Angeles"
            }
        }
    })
}

/// The realistic event, serialised compactly.
pub fn realistic_text(n: usize) -> String {
    serde_json::to_string(&realistic(n)).unwrap_or_default()
}

/// The documented Commanders Act examples (`tests/fixtures/commandersact/*.json`), completed as the golden tests
/// complete them (an event id, and a device identity where the event has no e-mail), each with the `now` at which
/// its own timestamp is fresh. Returns `(file name, event JSON, now)`.
pub fn fixtures() -> Vec<(String, String, i64)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/commandersact");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.ends_with(".json"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
        .into_iter()
        .filter_map(|name| {
            let text = std::fs::read_to_string(format!("{dir}/{name}")).ok()?;
            let mut event: Value = serde_json::from_str(&text).ok()?;
            let object = event.as_object_mut()?;
            let has_email = object.get("user").and_then(|u| u.get("email")).is_some();
            let context = object.entry("context").or_insert_with(|| json!({}));
            if context.get("event_id").is_none() {
                context["event_id"] = json!(format!("bench-{name}"));
            }
            if !has_email && context.pointer("/device/ip").is_none() {
                let device = context
                    .as_object_mut()?
                    .entry("device")
                    .or_insert_with(|| json!({}));
                device["ip"] = json!("198.51.100.7");
                device["user_agent"] = json!("Mozilla/5.0 (X11; Linux x86_64)");
            }
            let stamp = event
                .pointer("/context/event_timestamp")
                .map(Value::to_string)
                .unwrap_or_default();
            let now = match pinterest_destination::event::parse(&stamp)
                .map(|stamp| pinterest_destination::event::timestamp(&stamp))
            {
                Ok(Ok(t)) => t + 60,
                _ => NOW,
            };
            Some((name, serde_json::to_string(&event).ok()?, now))
        })
        .collect()
}

/// An SQS event of `records` records, one event per record (from `body(n)`), as Lambda delivers it.
pub fn sqs_event(records: usize, body: impl Fn(usize) -> String) -> Value {
    let records: Vec<Value> = (0..records)
        .map(|n| {
            json!({
                "messageId": format!("4ba71ab7-ac05-44a5-acc6-{n:012}"),
                "receiptHandle": format!("AQEBn485KAld6NpfbUb26ZCOC8sREGXugGlOO7YiuGeO4MR4mnrUtIq1KK+mvzEv/yug2wLQBrX2FBR1WYh78osxJSDtmQ0Ltz09/jbKYPRSoYfcFPaDmtZ9FohDN8lGP/vn+dY0pKM2pf2RT9RsdhVGnbbZMQHm/JedauhZkForsp54X5bI{n:012}"),
                "body": body(n),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1795983300000",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": "1795983302120"
                },
                "messageAttributes": {},
                "md5OfBody": "d04fd4462d529f5a27c6a100bf8b2e62",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:pinterest-destination-EventsQueue-8a1Kq0zX3mBd",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    json!({ "Records": records })
}

/// The realistic event `n` as an SQS record body.
pub fn realistic_body(n: usize) -> String {
    realistic_text(n)
}

/// The most records of realistic events whose SQS event stays within `limit` bytes of JSON.
pub fn records_within(limit: usize) -> usize {
    let one = serde_json::to_vec(&sqs_event(1, realistic_body))
        .map(|v| v.len())
        .unwrap_or(limit);
    let two = serde_json::to_vec(&sqs_event(2, realistic_body))
        .map(|v| v.len())
        .unwrap_or(limit);
    let per_record = two - one;
    let overhead = one - per_record;
    let mut n = (limit - overhead) / per_record;
    while n > 0
        && serde_json::to_vec(&sqs_event(n, realistic_body)).map_or(usize::MAX, |v| v.len()) > limit
    {
        n -= 1;
    }
    n
}
