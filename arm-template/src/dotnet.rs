//! .NET's text formatting, which ARM's `format()` and `utcNow()` expose: composite format
//! strings (`{0}`, `{0,-8}`, `{0:D3}`, `{{`), the standard and custom numeric format strings
//! templates use, and date and time format strings.

use serde_json::Value;
use time::OffsetDateTime;

/// .NET's messages, which Azure passes through inside its `format` error.
const BAD_FORMAT: &str = "Input string was not in a correct format.";
const BAD_INDEX: &str =
    "Index (zero based) must be greater than or equal to zero and less than the size of the argument list.";

/// `string.Format(format, args)`; the error is .NET's reason.
pub(crate) fn composite_format(fmt: &str, args: &[Value]) -> Result<String, String> {
    let chars: Vec<char> = fmt.chars().collect();
    let mut out = String::with_capacity(fmt.len());
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '{' if chars.get(i + 1) == Some(&'{') => {
                out.push('{');
                i += 2;
            }
            '}' if chars.get(i + 1) == Some(&'}') => {
                out.push('}');
                i += 2;
            }
            '}' => return Err(BAD_FORMAT.into()),
            '{' => {
                let close = chars[i..].iter().position(|&c| c == '}').ok_or_else(|| BAD_FORMAT.to_string())? + i;
                let item: String = chars[i + 1..close].iter().collect();
                let (head, spec) = match item.split_once(':') {
                    Some((h, s)) => (h, Some(s)),
                    None => (item.as_str(), None),
                };
                let (index, align) = match head.split_once(',') {
                    Some((ix, al)) => (ix.trim(), Some(al.trim().parse::<i64>().map_err(|_| BAD_FORMAT.to_string())?)),
                    None => (head.trim(), None),
                };
                let index: usize = index.parse().map_err(|_| BAD_FORMAT.to_string())?;
                let arg = args.get(index).ok_or_else(|| BAD_INDEX.to_string())?;
                let text = format_value(arg, spec)?;
                match align {
                    Some(w) if w > 0 => out.push_str(&format!("{text:>width$}", width = w.min(10_000) as usize)),
                    Some(w) if w < 0 => {
                        out.push_str(&format!("{text:<width$}", width = w.unsigned_abs().min(10_000) as usize))
                    }
                    _ => out.push_str(&text),
                }
                i = close + 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// One argument as `format()` renders it: booleans `True`/`False`, null empty, arrays and
/// objects as compact JSON with single quotes (ARM's rendering), numbers by their format
/// string.
fn format_value(v: &Value, spec: Option<&str>) -> Result<String, String> {
    Ok(match v {
        Value::Null => String::new(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::String(s) => s.clone(),
        Value::Array(_) | Value::Object(_) => v.to_string().replace('"', "'"),
        Value::Number(n) => match (n.as_i64(), spec) {
            (Some(i), Some(s)) => format_int(i, s)?,
            (Some(i), None) => i.to_string(),
            (None, Some(s)) => format_float(n.as_f64().unwrap_or_default(), s)?,
            (None, None) => n.to_string(),
        },
    })
}

fn precision(spec: &str) -> Result<Option<usize>, String> {
    if spec.len() <= 1 {
        return Ok(None);
    }
    spec[1..].parse::<usize>().map(|p| Some(p.min(99))).map_err(|_| BAD_FORMAT.to_string())
}

fn group_thousands(digits: &str) -> String {
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn format_int(i: i64, spec: &str) -> Result<String, String> {
    let Some(first) = spec.chars().next() else { return Ok(i.to_string()) };
    let sign = if i < 0 { "-" } else { "" };
    let abs = i.unsigned_abs();
    match first {
        'D' | 'd' if spec.len() == 1 || spec[1..].chars().all(|c| c.is_ascii_digit()) => {
            let p = precision(spec)?.unwrap_or(0);
            Ok(format!("{sign}{abs:0>p$}"))
        }
        'X' | 'x' if spec.len() == 1 || spec[1..].chars().all(|c| c.is_ascii_digit()) => {
            let p = precision(spec)?.unwrap_or(0);
            // .NET formats negative integers as two's complement in hex.
            let hex = if first == 'X' { format!("{:X}", i as u64) } else { format!("{:x}", i as u64) };
            Ok(format!("{hex:0>p$}"))
        }
        'N' | 'n' | 'F' | 'f' | 'G' | 'g' | 'P' | 'p' | 'E' | 'e'
            if spec.len() == 1 || spec[1..].chars().all(|c| c.is_ascii_digit()) =>
        {
            format_float(i as f64, spec)
        }
        _ => custom_number(i as f64, spec),
    }
}

fn format_float(f: f64, spec: &str) -> Result<String, String> {
    let Some(first) = spec.chars().next() else { return Ok(f.to_string()) };
    let standard = spec.len() == 1 || spec[1..].chars().all(|c| c.is_ascii_digit());
    if !standard {
        return custom_number(f, spec);
    }
    let p = precision(spec)?;
    Ok(match first {
        'F' | 'f' => format!("{f:.prec$}", prec = p.unwrap_or(2)),
        'N' | 'n' => {
            let s = format!("{:.prec$}", f.abs(), prec = p.unwrap_or(2));
            let (int, frac) = s.split_once('.').map_or((s.as_str(), None), |(a, b)| (a, Some(b)));
            let sign = if f < 0.0 { "-" } else { "" };
            match frac {
                Some(fr) => format!("{sign}{}.{fr}", group_thousands(int)),
                None => format!("{sign}{}", group_thousands(int)),
            }
        }
        'P' | 'p' => format!("{:.prec$} %", f * 100.0, prec = p.unwrap_or(2)),
        'E' | 'e' => {
            let s = format!("{f:.prec$e}", prec = p.unwrap_or(6));
            let (mant, exp) = s.split_once('e').unwrap_or((s.as_str(), "0"));
            let exp: i32 = exp.parse().unwrap_or(0);
            let e = if first == 'E' { 'E' } else { 'e' };
            format!("{mant}{e}{}{:03}", if exp < 0 { '-' } else { '+' }, exp.abs())
        }
        'G' | 'g' => match p {
            Some(digits) if digits > 0 => {
                format!("{:.*}", digits.saturating_sub(1), f).trim_end_matches('0').trim_end_matches('.').to_string()
            }
            _ => f.to_string(),
        },
        'D' | 'd' | 'X' | 'x' => return Err(BAD_FORMAT.into()),
        _ => return custom_number(f, spec),
    })
}

/// Custom numeric formats (`000`, `#,##0.00`): zero placeholders, digit placeholders, one
/// decimal point, thousands grouping; other characters are literals.
fn custom_number(f: f64, spec: &str) -> Result<String, String> {
    let (int_pat, frac_pat) = spec.split_once('.').map_or((spec, ""), |(a, b)| (a, b));
    let placeholders = |p: &str| p.chars().filter(|c| *c == '0' || *c == '#').count();
    if placeholders(int_pat) + placeholders(frac_pat) == 0 {
        return Ok(spec.to_string());
    }
    let frac_digits = placeholders(frac_pat);
    let min_frac = frac_pat.chars().filter(|c| *c == '0').count();
    let rounded = format!("{:.prec$}", f.abs(), prec = frac_digits);
    let (int_digits, frac) = rounded.split_once('.').map_or((rounded.as_str(), ""), |(a, b)| (a, b));
    let min_int = int_pat.chars().filter(|c| *c == '0').count();
    let mut int_text = format!("{int_digits:0>min_int$}");
    if int_text.chars().all(|c| c == '0') && min_int == 0 {
        int_text.clear();
    }
    if int_pat.contains(',') {
        int_text = group_thousands(&int_text);
    }
    let mut frac_text = frac.to_string();
    while frac_text.len() > min_frac && frac_text.ends_with('0') {
        frac_text.pop();
    }
    let prefix: String = int_pat.chars().take_while(|c| !matches!(c, '0' | '#' | ',')).collect();
    let suffix: String = if frac_pat.is_empty() {
        int_pat
            .chars()
            .rev()
            .take_while(|c| !matches!(c, '0' | '#' | ','))
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect()
    } else {
        frac_pat.chars().rev().take_while(|c| !matches!(c, '0' | '#')).collect::<Vec<_>>().into_iter().rev().collect()
    };
    let sign = if f < 0.0 && (int_text.chars().any(|c| c != '0' && c != ',') || frac_text.chars().any(|c| c != '0')) {
        "-"
    } else {
        ""
    };
    let mut out = format!("{sign}{prefix}{int_text}");
    if !frac_text.is_empty() {
        out.push('.');
        out.push_str(&frac_text);
    }
    out.push_str(&suffix);
    Ok(out)
}

/// Formats a UTC time with a .NET standard (`u`, `o`, `s`, `d`, `t`, `T`, `g`, `G`) or custom
/// (`yyyyMMddTHHmmssZ`, `yyyy-MM-dd`) format string.
pub(crate) fn format_datetime(t: OffsetDateTime, fmt: &str) -> String {
    let expanded = match fmt {
        "u" => "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
        "o" | "O" => "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffff'Z'",
        "s" => "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
        "d" => "MM/dd/yyyy",
        "D" => "dddd, dd MMMM yyyy",
        "t" => "HH:mm",
        "T" => "HH:mm:ss",
        "g" => "MM/dd/yyyy HH:mm",
        "G" => "MM/dd/yyyy HH:mm:ss",
        "r" | "R" => "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
        other => other,
    };
    custom_datetime(t, expanded)
}

fn custom_datetime(t: OffsetDateTime, fmt: &str) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    const DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
    let chars: Vec<char> = fmt.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let run = chars[i..].iter().take_while(|&&d| d == c).count();
        match c {
            '\'' | '"' => {
                let end = chars[i + 1..].iter().position(|&d| d == c).map_or(chars.len(), |p| i + 1 + p);
                out.extend(&chars[i + 1..end]);
                i = end + 1;
                continue;
            }
            '\\' => {
                if let Some(&n) = chars.get(i + 1) {
                    out.push(n);
                }
                i += 2;
                continue;
            }
            'y' => {
                let y = t.year();
                out.push_str(&match run {
                    1 => (y % 100).to_string(),
                    2 => format!("{:02}", y % 100),
                    n => format!("{y:0>n$}"),
                });
            }
            'M' => {
                let m = u8::from(t.month());
                out.push_str(&match run {
                    1 => m.to_string(),
                    2 => format!("{m:02}"),
                    3 => MONTHS[usize::from(m) - 1][..3].to_string(),
                    _ => MONTHS[usize::from(m) - 1].to_string(),
                });
            }
            'd' => {
                let d = t.day();
                let wd = DAYS[usize::from(t.weekday().number_days_from_monday())];
                out.push_str(&match run {
                    1 => d.to_string(),
                    2 => format!("{d:02}"),
                    3 => wd[..3].to_string(),
                    _ => wd.to_string(),
                });
            }
            'H' => out.push_str(&if run == 1 { t.hour().to_string() } else { format!("{:02}", t.hour()) }),
            'h' => {
                let h = match t.hour() % 12 {
                    0 => 12,
                    h => h,
                };
                out.push_str(&if run == 1 { h.to_string() } else { format!("{h:02}") });
            }
            'm' => out.push_str(&if run == 1 { t.minute().to_string() } else { format!("{:02}", t.minute()) }),
            's' => out.push_str(&if run == 1 { t.second().to_string() } else { format!("{:02}", t.second()) }),
            'f' | 'F' => {
                let nanos = format!("{:09}", t.nanosecond());
                let digits = &nanos[..run.min(9)];
                if c == 'F' {
                    out.push_str(digits.trim_end_matches('0'));
                } else {
                    out.push_str(digits);
                    out.extend(std::iter::repeat_n('0', run.saturating_sub(9)));
                }
            }
            't' => out.push_str(if t.hour() < 12 { &"AM"[..run.min(2)] } else { &"PM"[..run.min(2)] }),
            'K' | 'z' => out.push_str(if c == 'K' { "Z" } else { "+00" }),
            other => out.extend(std::iter::repeat_n(other, run)),
        }
        i += run;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn composite_formats_place_align_and_escape() {
        assert_eq!(composite_format("->{0}<-", &[json!(123)]).unwrap(), "->123<-");
        assert_eq!(composite_format("{0}/{1}", &[json!("a"), json!("b")]).unwrap(), "a/b");
        assert_eq!(composite_format("[{0,5}|{0,-5}]", &[json!("ab")]).unwrap(), "[   ab|ab   ]");
        assert_eq!(composite_format("{{{0}}}", &[json!(true)]).unwrap(), "{True}");
        assert_eq!(composite_format("{0}", &[json!(["a", 1])]).unwrap(), "['a',1]");
    }

    /// Azure/bicep's baseline quotes Azure's message for `format('->{123}<-', 123)`.
    #[test]
    fn an_index_past_the_arguments_is_dotnets_error() {
        assert_eq!(composite_format("->{123}<-", &[json!(123)]).unwrap_err(), BAD_INDEX);
        assert_eq!(composite_format("{0", &[json!(1)]).unwrap_err(), BAD_FORMAT);
    }

    #[test]
    fn numeric_format_specifiers_follow_dotnet() {
        assert_eq!(composite_format("{0:D3}", &[json!(7)]).unwrap(), "007");
        assert_eq!(composite_format("{0:d}", &[json!(-7)]).unwrap(), "-7");
        assert_eq!(composite_format("{0:X4}", &[json!(255)]).unwrap(), "00FF");
        assert_eq!(composite_format("{0:N0}", &[json!(1234567)]).unwrap(), "1,234,567");
        assert_eq!(composite_format("{0:N2}", &[json!(1234.5)]).unwrap(), "1,234.50");
        assert_eq!(composite_format("{0:F1}", &[json!(2)]).unwrap(), "2.0");
        assert_eq!(composite_format("{0:000}", &[json!(5)]).unwrap(), "005");
        assert_eq!(composite_format("{0:#,##0}", &[json!(1234)]).unwrap(), "1,234");
    }

    #[test]
    fn date_formats_follow_dotnet() {
        let t = time::macros::datetime!(2021-07-03 09:05:07.25 UTC);
        assert_eq!(format_datetime(t, "yyyyMMddTHHmmssZ"), "20210703T090507Z");
        assert_eq!(format_datetime(t, "u"), "2021-07-03 09:05:07Z");
        assert_eq!(format_datetime(t, "d"), "07/03/2021");
        assert_eq!(format_datetime(t, "o"), "2021-07-03T09:05:07.2500000Z");
        assert_eq!(format_datetime(t, "dddd MMM d"), "Saturday Jul 3");
    }
}
