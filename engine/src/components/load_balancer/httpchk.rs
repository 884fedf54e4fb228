//! `option httpchk`: health checks that send an HTTP request and read the
//! answer, instead of only connecting. Written as in haproxy.cfg after
//! the keyword: `"GET /health"`, `"/health"` (method `OPTIONS`), or
//! `"HEAD /health HTTP/1.1"`.
//!
//! The lab's app servers answer any check path themselves, from one of
//! their workers: the request line is kept for the rendered haproxy.cfg.

/// Longest method and URI accepted (a check is one short line).
pub const MAX_WORD: usize = 256;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpChk {
    pub method: String,
    pub uri: String,
    /// `HTTP/1.0` (HAProxy's default) or `HTTP/1.1`.
    pub version: Option<String>,
}

impl HttpChk {
    /// The words after `option httpchk`.
    pub fn words(&self) -> String {
        let mut s = format!("{} {}", self.method, self.uri);
        if let Some(v) = &self.version {
            s.push(' ');
            s.push_str(v);
        }
        s
    }

    pub fn parse(text: &str) -> Result<HttpChk, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let (method, uri, version) = match words.as_slice() {
            [uri] => ("OPTIONS", *uri, None),
            [method, uri] => (*method, *uri, None),
            [method, uri, version] => (*method, *uri, Some(*version)),
            _ => {
                return Err(format!(
                    "`{text}`: write the check's request as `<uri>`, `<method> <uri>` or `<method> <uri> <version>`, e.g. `GET /health`"
                ))
            }
        };
        if method.len() > MAX_WORD || !method.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(format!("`{method}` is not an HTTP method: use capital letters, e.g. GET, HEAD or OPTIONS"));
        }
        if uri.len() > MAX_WORD || !uri.starts_with('/') || !uri.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!(
                "`{uri}` is not a check URI: it starts with `/`, has no spaces and at most {MAX_WORD} characters"
            ));
        }
        if let Some(v) = version.filter(|v| !matches!(*v, "HTTP/1.0" | "HTTP/1.1")) {
            return Err(format!("`{v}` is not an HTTP version here: use HTTP/1.0 or HTTP/1.1"));
        }
        Ok(HttpChk { method: method.into(), uri: uri.into(), version: version.map(Into::into) })
    }
}

serde_as_text!(HttpChk, words);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines_as_haproxy_takes_them() {
        assert_eq!(HttpChk::parse("/health").unwrap().words(), "OPTIONS /health");
        assert_eq!(HttpChk::parse("GET /health").unwrap().words(), "GET /health");
        assert_eq!(HttpChk::parse(" HEAD  /  HTTP/1.1 ").unwrap().words(), "HEAD / HTTP/1.1");
    }

    #[test]
    fn bad_request_lines_say_what_is_wrong() {
        assert!(HttpChk::parse("").unwrap_err().contains("GET /health"));
        assert!(HttpChk::parse("get /").unwrap_err().contains("not an HTTP method"));
        assert!(HttpChk::parse("GET health").unwrap_err().contains("starts with `/`"));
        assert!(HttpChk::parse("GET / HTTP/2").unwrap_err().contains("HTTP/1.0 or HTTP/1.1"));
        assert!(HttpChk::parse("GET / HTTP/1.1 x").is_err());
        let long = format!("GET /{}", "a".repeat(MAX_WORD));
        assert!(HttpChk::parse(&long).is_err());
    }
}
