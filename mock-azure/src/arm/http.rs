//! A request and an answer as ARM sees them (no sockets: `serve` turns hyper's into
//! these), and how an [`ArmError`] becomes an answer.

use bytes::Bytes;
use serde_json::Value;

use super::error::ArmError;
use crate::form::parse_form;

/// An HTTP request as ARM sees it.
#[derive(Debug, Clone)]
pub struct ArmRequest {
    /// Method, upper case.
    pub method: String,
    /// Path, not decoded.
    pub path: String,
    /// Raw query string (without `?`).
    pub query: String,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Bytes,
}

impl ArmRequest {
    /// A request with no headers or body.
    pub fn new(method: &str, path_and_query: &str) -> ArmRequest {
        let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
        ArmRequest {
            method: method.to_ascii_uppercase(),
            path: path.into(),
            query: query.into(),
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> ArmRequest {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    /// Sets a JSON body.
    pub fn json(mut self, body: &Value) -> ArmRequest {
        self.body = Bytes::from(body.to_string());
        self.headers.push(("content-type".into(), "application/json".into()));
        self
    }

    /// The first value of a header.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Decoded query parameters, keys lower-cased.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        parse_form(&self.query).into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect()
    }

    /// A decoded query parameter (key case-insensitive).
    pub fn query_param(&self, key: &str) -> Option<String> {
        let key = key.to_ascii_lowercase();
        self.query_pairs().into_iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct ArmResponse {
    /// Status code.
    pub status: u16,
    /// Extra headers (content type included).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Bytes,
}

impl ArmResponse {
    /// A JSON answer.
    pub fn json(status: u16, body: &Value) -> ArmResponse {
        ArmResponse {
            status,
            headers: vec![("content-type".into(), "application/json; charset=utf-8".into())],
            body: Bytes::from(body.to_string()),
        }
    }

    /// An empty answer.
    pub fn empty(status: u16) -> ArmResponse {
        ArmResponse { status, headers: Vec::new(), body: Bytes::new() }
    }

    /// A text answer with this content type.
    pub fn text(status: u16, content_type: &str, body: impl Into<Bytes>) -> ArmResponse {
        ArmResponse { status, headers: vec![("content-type".into(), content_type.into())], body: body.into() }
    }

    /// The body parsed as JSON (`Null` if it is not JSON).
    pub fn json_body(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

impl From<ArmError> for ArmResponse {
    fn from(e: ArmError) -> ArmResponse {
        let mut r = ArmResponse::json(e.status, &e.body());
        if e.status == 401 {
            r.headers.push((
                "www-authenticate".into(),
                format!("Bearer authorization_uri=\"https://login.microsoftonline.com/common\", error=\"invalid_token\", error_description=\"{}\"", e.message.replace('"', "'")),
            ));
        }
        r
    }
}
