//! Steps and expectations: `[[step]]` (ARM requests, restarts, pulls), their `expect`,
//! and the expectation fields `[expect]` and matrix cells share.

use mock_azure::appservice::trace::{Code, RouteKind, Stage};

use super::azure::{RELATIVE_TYPES, default_api_version};
use super::refs::Ref;
use super::walker::{Tbl, Walker, fmt_list};
use crate::scenario::model::*;
use crate::scenario::tree::{At, Node, Val};

impl Walker<'_> {
    pub(super) fn step(&mut self, n: &Node, rg: &str) -> Option<Step> {
        let mut t = self.table(n, "[[step]]")?;
        let arm = self.str_node(&mut t, "arm");
        let restart = t.get("restart");
        let pull = t.get("pull");
        let body = t.get("body");
        let api_version = self.str_node(&mut t, "api_version");
        let actor = self.str_node(&mut t, "as");
        let expect = t.get("expect");
        let kinds = [arm.is_some(), restart.is_some(), pull.is_some()].iter().filter(|x| **x).count();
        if kinds != 1 {
            self.err(n.at, "a [[step]] is exactly one of: arm = \"METHOD path\", restart = true, pull = true");
            self.finish(t);
            return None;
        }
        for (key, node) in [("restart", restart), ("pull", pull)] {
            if let Some(node) = node
                && node.v != Val::Bool(true)
            {
                self.err(node.at, format!("'{key}' in [[step]] must be true"));
            }
        }
        if arm.is_none() {
            if let Some(b) = body {
                self.err(b.at, "'body' in [[step]] goes with arm = \"...\" only");
            }
            if let Some((_, at)) = &api_version {
                self.err(*at, "'api_version' in [[step]] goes with arm = \"...\" only");
            }
            if let Some((_, at)) = &actor {
                self.err(*at, "'as' in [[step]] goes with arm = \"...\" only");
            }
        }
        let actor = actor.and_then(|(who, at)| self.actor(&who, at));
        let step = if let Some((line, at)) = arm {
            let parsed = self.arm_line(&line, at, rg, api_version.as_ref().map(|(s, _)| s.as_str()));
            let body = match body {
                Some(b) if matches!(b.v, Val::Table(_)) => Some(b.to_json()),
                Some(b) => {
                    self.wrong(&t, "body", b, "a table (the JSON body)");
                    None
                }
                None => None,
            };
            let expect = expect.and_then(|e| self.table(e, "[[step]].expect")).map(|mut et| {
                let status = self.uint(&mut et, "status", 100, 599).map(|s| s as u16);
                let code = self.str(&mut et, "code");
                let message = self.str(&mut et, "message");
                self.finish(et);
                ArmExpect { status, code, message }
            });
            parsed.map(|(method, path)| Step::Arm(ArmStep { method, path, body, expect, actor }))
        } else if restart.is_some() {
            if let Some(e) = expect {
                self.err(e.at, "a restart step has no 'expect'; add a pull = true step after it");
            }
            Some(Step::Restart)
        } else {
            let expect = expect.and_then(|e| self.table(e, "[[step]].expect")).and_then(|mut et| {
                let x = self.expect(&mut et, true);
                self.finish(et);
                x
            });
            Some(Step::Pull(expect))
        };
        self.finish(t);
        step
    }

    /// Who sends an ARM step: `site` (the site's system-assigned identity) or
    /// `identity:<name>` (a user-assigned identity of the scenario, on the site).
    fn actor(&mut self, who: &str, at: At) -> Option<Principal> {
        if who == "site" {
            return Some(Principal::Site);
        }
        let name = self.prefixed(who, "identity", at, "'as' in [[step]] ('site' or)")?;
        self.refs.push(Ref::Identity { name: name.to_string(), at, place: "'as' of [[step]]".into() });
        Some(Principal::Identity(name.to_string()))
    }

    /// `METHOD path` of an ARM step; the path gets its provider and api-version.
    pub(super) fn arm_line(&mut self, line: &str, at: At, rg: &str, api: Option<&str>) -> Option<(Method, String)> {
        let mut parts = line.split_whitespace();
        let (Some(m), Some(path), None) = (parts.next(), parts.next(), parts.next()) else {
            self.err(at, format!("'arm' in [[step]] must be \"METHOD path\", found '{line}'"));
            return None;
        };
        let Some(method) = Method::parse(&m.to_ascii_uppercase()) else {
            let words = Method::words();
            let hint = self.f.hint(m, &words);
            self.err(at, format!("'arm' in [[step]]: unknown method '{m}'; use one of {}{hint}", fmt_list(&words)));
            return None;
        };
        let (path, query) = match path.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path, None),
        };
        let full = if path.starts_with("/subscriptions/") {
            path.to_string()
        } else if path.starts_with('/') {
            self.err(at, format!("'arm' in [[step]]: an absolute path starts with /subscriptions/, found '{path}'"));
            return None;
        } else if let Some(rest) = path.strip_prefix("providers/") {
            format!("/subscriptions/{{subscription}}/resourceGroups/{rg}/providers/{rest}")
        } else {
            let first = path.split('/').next().unwrap_or_default();
            let Some((ty, ns)) = RELATIVE_TYPES.iter().find(|(t, _)| t.eq_ignore_ascii_case(first)) else {
                let words: Vec<&str> = RELATIVE_TYPES.iter().map(|(t, _)| *t).collect();
                let hint = self.f.hint(first, &words);
                self.err(
                    at,
                    format!(
                        "'arm' in [[step]]: unknown resource type '{first}'; a relative path starts with one of {}{hint}",
                        fmt_list(&words)
                    ),
                );
                return None;
            };
            let rest = &path[first.len()..];
            format!("/subscriptions/{{subscription}}/resourceGroups/{rg}/providers/{ns}/{ty}{rest}")
        };
        let has_version = query.is_some_and(|q| q.split('&').any(|kv| kv.starts_with("api-version=")));
        let mut out = full.clone();
        let mut sep = '?';
        if let Some(q) = query {
            out.push('?');
            out.push_str(q);
            sep = '&';
        }
        if !has_version {
            out.push(sep);
            out.push_str("api-version=");
            out.push_str(api.unwrap_or(default_api_version(&full)));
        }
        Some((method, out))
    }

    /// The expectation fields of `[expect]`, a pull step's `expect` or a matrix cell.
    pub(crate) fn expect(&mut self, t: &mut Tbl<'_>, required: bool) -> Option<Expect> {
        let present = t.has("pull");
        let pull = self.word(t, "pull", PullOutcome::parse, &PullOutcome::words());
        let routes = ["vnet", "public"];
        let route = self.word(
            t,
            "route",
            |s| match s {
                "vnet" => Some(RouteKind::Vnet),
                "public" => Some(RouteKind::Public),
                _ => None,
            },
            &routes,
        );
        let stages: Vec<&str> = Stage::ALL.iter().map(|s| s.as_str()).collect();
        let stage_at = t.entries.iter().find(|e| e.key == "stage").map(|e| e.node.at);
        let stage = self.word(t, "stage", |s| Stage::ALL.iter().copied().find(|x| x.as_str() == s), &stages);
        let code_names: Vec<String> = Code::ALL.iter().map(|c| c.as_str()).collect();
        let code_words: Vec<&str> = code_names.iter().map(String::as_str).collect();
        let code_at = t.entries.iter().find(|e| e.key == "code").map(|e| e.node.at);
        let code = self.word(t, "code", |s| Code::ALL.iter().copied().find(|c| c.as_str() == s), &code_words);
        let message = self.str(t, "message");
        let log = self.str_list(t, "log").unwrap_or_default().into_iter().map(|(s, _)| s).collect();
        if !present && required {
            t.allow("pull");
            self.missing(t, "pull");
        }
        if pull == Some(PullOutcome::Success) {
            for (what, at) in
                [("stage", stage_at.filter(|_| stage.is_some())), ("code", code_at.filter(|_| code.is_some()))]
            {
                if let Some(at) = at {
                    self.err(
                        at,
                        format!("a successful pull has no failure {what}; drop it or expect pull = \"failure\""),
                    );
                }
            }
        }
        pull.map(|pull| Expect { pull, route, stage, code, message, log })
    }
}
