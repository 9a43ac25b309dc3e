//! Time: `utcNow` and `newGuid` (only in parameter defaults, as Azure allows them, and
//! deterministic: the host's clock and the deployment name are their only inputs),
//! `dateTimeAdd`, `dateTimeFromEpoch`, `dateTimeToEpoch`.

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

use super::{arity, int_arg, str_arg};
use crate::error::{ErrorKind, EvalError, msg};
use crate::eval::{Place, Scope, eval};
use crate::expr::Expr;

fn parameter_default_only(name: &str, sc: Scope<'_>) -> Result<(), EvalError> {
    if sc.place == Place::ParameterDefault {
        Ok(())
    } else {
        Err(EvalError::new(ErrorKind::FunctionNotExpected, msg::function_not_expected(name)))
    }
}

/// Parses an ISO 8601 time (a zone-less one is UTC).
pub(crate) fn parse_time(s: &str) -> Option<OffsetDateTime> {
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    if let Ok(t) = PrimitiveDateTime::parse(s, &fmt) {
        return Some(t.assume_utc());
    }
    let date = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, &date).ok().map(|d| d.midnight().assume_utc())
}

/// ISO 8601 without fractional seconds when there are none: `2023-04-01T01:00:38Z` (the
/// Bicep baseline's `dateTimeAdd` value).
fn iso(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    if t.nanosecond() == 0 {
        crate::dotnet::format_datetime(t, "yyyy'-'MM'-'dd'T'HH':'mm':'ss'Z'")
    } else {
        crate::dotnet::format_datetime(t, "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'FFFFFFF'Z'")
    }
}

pub(super) fn utc_now(name: &str, args: &[Expr], sc: Scope<'_>) -> Result<Value, EvalError> {
    parameter_default_only(name, sc)?;
    arity(name, args, 0, Some(1))?;
    let values = args.iter().map(|a| eval(a, sc)).collect::<Result<Vec<_>, _>>()?;
    let fmt = if values.is_empty() { "yyyyMMddTHHmmssZ".to_string() } else { str_arg(name, &values, 0)?.to_string() };
    let now = &sc.base.context().now;
    let t = parse_time(now).ok_or_else(|| EvalError::eval(msg::date_invalid(name, now)))?;
    Ok(Value::String(crate::dotnet::format_datetime(t, &fmt)))
}

/// A GUID derived from the deployment (name and clock) and the call's position in the
/// template text: different per parameter, the same for the same deployment.
pub(super) fn new_guid(name: &str, args: &[Expr], sc: Scope<'_>) -> Result<Value, EvalError> {
    parameter_default_only(name, sc)?;
    arity(name, args, 0, Some(0))?;
    let ctx = sc.base.context();
    let seq = sc.base.next_sequence();
    Ok(Value::String(crate::hash::guid(&["newGuid", &ctx.deployment_name, &ctx.now, &seq.to_string()])))
}

/// An ISO 8601 duration (`P1D`, `-PT1H`, `P1Y2M3DT4H5M6S`).
fn parse_duration(s: &str) -> Option<(i64, i64, Duration)> {
    let (neg, rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let rest = rest.strip_prefix('P')?;
    let (date, time_part) = rest.split_once('T').map_or((rest, ""), |(d, t)| (d, t));
    if date.is_empty() && time_part.is_empty() {
        return None;
    }
    let (mut years, mut months, mut dur) = (0i64, 0i64, Duration::ZERO);
    let mut num = String::new();
    // Bounded so that no duration overflows `time`'s arithmetic (which panics).
    let n = |num: &str| num.parse::<i64>().ok().filter(|v| *v < 1_000_000_000);
    let f = |num: &str| num.parse::<f64>().ok().filter(|v| v.is_finite() && *v < 1e12);
    for c in date.chars() {
        match c {
            '0'..='9' => num.push(c),
            'Y' => years = n(&num)?,
            'M' => months = n(&num)?,
            'W' => dur = dur.checked_add(Duration::weeks(n(&num)?))?,
            'D' => dur = dur.checked_add(Duration::days(n(&num)?))?,
            _ => return None,
        }
        if !c.is_ascii_digit() {
            num.clear();
        }
    }
    if !num.is_empty() {
        return None;
    }
    for c in time_part.chars() {
        match c {
            '0'..='9' | '.' => num.push(c),
            'H' => dur = dur.checked_add(Duration::hours(n(&num)?))?,
            'M' => dur = dur.checked_add(Duration::minutes(n(&num)?))?,
            'S' => dur = dur.checked_add(Duration::seconds_f64(f(&num)?))?,
            _ => return None,
        }
        if !(c.is_ascii_digit() || c == '.') {
            num.clear();
        }
    }
    if !num.is_empty() {
        return None;
    }
    Some(if neg { (-years, -months, -dur) } else { (years, months, dur) })
}

fn add_months(t: OffsetDateTime, months: i64) -> Option<OffsetDateTime> {
    let total = i64::from(t.year()) * 12 + i64::from(u8::from(t.month())) - 1 + months;
    let year = i32::try_from(total.div_euclid(12)).ok()?;
    let month = time::Month::try_from(u8::try_from(total.rem_euclid(12) + 1).ok()?).ok()?;
    let day = t.day().min(month.length(year));
    t.replace_date(time::Date::from_calendar_date(year, month, day).ok()?).into()
}

pub(super) fn date_time_add(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 2, Some(3))?;
    let base = str_arg(name, args, 0)?;
    let dur = str_arg(name, args, 1)?;
    let t = parse_time(base).ok_or_else(|| EvalError::eval(msg::date_invalid(name, base)))?;
    let (years, months, d) = parse_duration(dur).ok_or_else(|| EvalError::eval(msg::duration_invalid(dur)))?;
    let t = add_months(t, years * 12 + months)
        .and_then(|t| t.checked_add(d))
        .ok_or_else(|| EvalError::eval(msg::duration_invalid(dur)))?;
    Ok(Value::String(match args.get(2) {
        Some(_) => crate::dotnet::format_datetime(t, str_arg(name, args, 2)?),
        None => iso(t),
    }))
}

pub(super) fn date_time_from_epoch(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 1, Some(1))?;
    let secs = int_arg(name, args, 0)?;
    let t = OffsetDateTime::from_unix_timestamp(secs)
        .map_err(|_| EvalError::eval(msg::date_invalid(name, &secs.to_string())))?;
    Ok(Value::String(iso(t)))
}

pub(super) fn date_time_to_epoch(name: &str, args: &[Value]) -> Result<Value, EvalError> {
    arity(name, args, 1, Some(1))?;
    let s = str_arg(name, args, 0)?;
    let t = parse_time(s).ok_or_else(|| EvalError::eval(msg::date_invalid(name, s)))?;
    Ok(Value::from(t.unix_timestamp()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Azure/bicep's evaluated baseline: `dateTimeAdd(dateTimeFromEpoch(1680224438), 'P1D')`
    /// is `2023-04-01T01:00:38Z`, and `dateTimeToEpoch(dateTimeFromEpoch(1680224438))` the
    /// epoch again.
    #[test]
    fn date_functions_match_azures_baseline() {
        let t = date_time_from_epoch("dateTimeFromEpoch", &[json!(1680224438)]).unwrap();
        assert_eq!(t, json!("2023-03-31T01:00:38Z"));
        assert_eq!(date_time_add("dateTimeAdd", &[t.clone(), json!("P1D")]).unwrap(), json!("2023-04-01T01:00:38Z"));
        assert_eq!(date_time_to_epoch("dateTimeToEpoch", &[t]).unwrap(), json!(1680224438));
    }

    #[test]
    fn durations_cover_months_and_negative_times() {
        assert_eq!(
            date_time_add("dateTimeAdd", &[json!("2020-01-31T00:00:00Z"), json!("P1M")]).unwrap(),
            json!("2020-02-29T00:00:00Z")
        );
        assert_eq!(
            date_time_add("dateTimeAdd", &[json!("2020-01-01T00:00:00Z"), json!("-PT1H30M")]).unwrap(),
            json!("2019-12-31T22:30:00Z")
        );
        let EvalError::Failed(f) =
            date_time_add("dateTimeAdd", &[json!("2020-01-01T00:00:00Z"), json!("PTASDIONS1D")]).unwrap_err()
        else {
            panic!()
        };
        assert_eq!(
            f.message,
            "The template function 'dateTimeAdd' has an invalid parameter. The second parameter 'PTASDIONS1D' is not a valid ISO8601 Duration string. Please see https://aka.ms/arm-syntax-functions ."
        );
    }
}
