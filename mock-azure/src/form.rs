//! `application/x-www-form-urlencoded`: query strings and token forms, decoded by ARM,
//! the identity endpoint and the ACR, encoded by the worker.

/// Decodes `a=1&b=x%2Fy` into pairs (`+` is a space; a malformed `%` escape stays as is).
pub fn parse_form(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Percent-decodes one component.
pub fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 3 <= b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(x) => {
                        out.push(x);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes one component (unreserved characters stay).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_round_trip_and_tolerate_bad_escapes() {
        let v = "repository:team/app:pull x";
        assert_eq!(
            parse_form(&format!("scope={}&n=1", encode(v))),
            vec![("scope".into(), v.into()), ("n".into(), "1".into())]
        );
        assert_eq!(
            parse_form("a=%zz&b=%4&c=%41"),
            vec![("a".into(), "%zz".into()), ("b".into(), "%4".into()), ("c".into(), "A".into())]
        );
    }
}
