//! Pinterest click id fallbacks: the `epik` query parameter of the page URL, then a cookie.

use cookie::Cookie;
use percent_encoding::percent_decode_str;
use url::Url;

/// Base against which a page URL that is not absolute is read, for its query only.
const RELATIVE_BASE: &str = "https://relative.invalid/";

/// The `epik` query parameter of `page_url`, %-decoded, if present and non-blank.
///
/// A `+` stays a `+`: click ids are base64, where `+` is a digit, and none holds a space, so the form decoding of
/// `application/x-www-form-urlencoded` (`+` → space) would only break them.
pub fn from_url(page_url: &str) -> Option<String> {
    // Parsing a URL costs more than the rest of the event's mapping. A query key can only decode to `epik` if
    // the text holds `epik`, a %-escape, or a tab or line break (which the URL parser removes): skip the rest.
    if !page_url.contains("epik") && !page_url.contains(['%', '\t', '\n', '\r']) {
        return None;
    }
    // A URL without a scheme (`shop.example/p?epik=…`) or a relative one still has a query: read it as a path.
    let page_url = page_url.trim();
    let url = Url::parse(page_url)
        .or_else(|_| Url::parse(RELATIVE_BASE)?.join(page_url))
        .ok()?;
    let decode = |text| percent_decode_str(text).decode_utf8_lossy();
    url.query()?
        .split('&')
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .find(|(key, _)| decode(key) == "epik")
        .map(|(_, value)| decode(value).trim().to_string())
        .filter(|value| !value.is_empty())
}

/// The value of cookie `name` in a `Cookie` header string, URL-decoded and out of its quotes, if present and
/// non-blank. Only the names and the found value are %-decoded: decoding every value of the header (analytics
/// cookies are long) cost more than finding the one asked for.
pub fn from_cookies(header: &str, name: &str) -> Option<String> {
    fn decode(text: &str) -> std::borrow::Cow<'_, str> {
        // `contains` is a vectorised search; the decoder looks for its first `%` a byte at a time.
        if text.contains('%') {
            percent_decode_str(text).decode_utf8_lossy()
        } else {
            text.into()
        }
    }
    Cookie::split_parse(header)
        .filter_map(Result::ok)
        .find(|cookie| decode(cookie.name()) == name)
        // RFC 6265 allows a value in double quotes: the id is what they hold.
        .map(|cookie| decode(cookie.value_trimmed()).trim().to_string())
        .filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_decodes_the_epik_parameter() {
        assert_eq!(
            from_url("https://shop.example/p?utm=x&epik=dj0yJnU9%2Fabc&b=1").as_deref(),
            Some("dj0yJnU9/abc")
        );
        // A `+` is part of the base64 id, not a space.
        assert_eq!(
            from_url("https://shop.example/p?epik=dj0y+JnU9%2Babc").as_deref(),
            Some("dj0y+JnU9+abc")
        );
        // The first `epik` counts; a key without `=` is a key with an empty value.
        assert_eq!(
            from_url("https://shop.example/p?a&epik=one&epik=two#frag").as_deref(),
            Some("one")
        );
        assert_eq!(from_url("https://shop.example/p?epik&epik=two"), None);
        assert_eq!(from_url("https://shop.example/p?epik="), None);
        assert_eq!(from_url("https://shop.example/p?q=1"), None);
        assert_eq!(from_url("not a url"), None);
        // Producers send page URLs without a scheme, or relative ones: the query still counts.
        assert_eq!(from_url("shop.example/p?epik=abc").as_deref(), Some("abc"));
        assert_eq!(from_url("/p?x=1&epik=rel").as_deref(), Some("rel"));
        assert_eq!(from_url("?epik=q").as_deref(), Some("q"));
        // What the URL parser decodes or removes still counts, whatever the quick pre-check sees.
        assert_eq!(
            from_url("https://shop.example/p?%65pik=abc").as_deref(),
            Some("abc")
        );
        assert_eq!(
            from_url("https://shop.example/p?ep\tik=abc").as_deref(),
            Some("abc")
        );
        assert_eq!(from_url("epik=abc"), None);
    }

    #[test]
    fn reads_and_decodes_the_named_cookie() {
        let header = "_fbp=123; _epik=dj0y%2FJnU9; other=1";
        assert_eq!(from_cookies(header, "_epik").as_deref(), Some("dj0y/JnU9"));
        assert_eq!(from_cookies(header, "missing"), None);
        assert_eq!(
            from_cookies("_epik=\"dj0y%2BJnU9\"; a=1", "_epik").as_deref(),
            Some("dj0y+JnU9")
        );
        assert_eq!(
            from_cookies("%5Fepik=dj0y; a=1", "_epik").as_deref(),
            Some("dj0y")
        );
        assert_eq!(from_cookies("garbage;;=;", "_epik"), None);
        assert_eq!(from_cookies("", "_epik"), None);
    }
}
