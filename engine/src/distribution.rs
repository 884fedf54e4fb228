//! Distributions of durations: network latency, service time, think time.
//!
//! In a scenario a distribution is either a plain duration (constant) or one
//! of the tagged forms:
//! `"5ms"` (or `{"constant": "5ms"}`), `{"uniform": {"min": "1ms", "max": "3ms"}}`,
//! `{"exponential": {"min": "1ms", "mean": "5ms"}}` (the minimum plus an
//! exponential tail, so that the overall mean is `mean`).

use crate::rng::Rng;
use crate::time::Duration;
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Distribution {
    Constant(Duration),
    Uniform { min: Duration, max: Duration },
    Exponential { min: Duration, mean: Duration },
}

impl Distribution {
    pub fn constant(d: Duration) -> Self {
        Distribution::Constant(d)
    }

    pub fn sample(&self, rng: &mut Rng) -> u64 {
        match *self {
            Distribution::Constant(d) => d.nanos,
            Distribution::Uniform { min, max } => rng.between(min.nanos, max.nanos),
            Distribution::Exponential { min, mean } => min.nanos + rng.exponential(mean.nanos - min.nanos),
        }
    }

    /// The expected value, in nanoseconds.
    pub fn mean_nanos(&self) -> u64 {
        match *self {
            Distribution::Constant(d) => d.nanos,
            Distribution::Uniform { min, max } => min.nanos + (max.nanos - min.nanos) / 2,
            Distribution::Exponential { mean, .. } => mean.nanos,
        }
    }

    /// Checks the parameters; the message says what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            Distribution::Constant(_) => Ok(()),
            Distribution::Uniform { min, max } if min > max => {
                Err(format!("uniform min {min} is greater than max {max}"))
            }
            Distribution::Exponential { min, mean } if min > mean => {
                Err(format!("exponential min {min} is greater than its mean {mean}"))
            }
            _ => Ok(()),
        }
    }
}

impl fmt::Display for Distribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Distribution::Constant(d) => write!(f, "{d}"),
            Distribution::Uniform { min, max } => write!(f, "uniform {min}..{max}"),
            Distribution::Exponential { min, mean } if min.nanos == 0 => write!(f, "exponential, mean {mean}"),
            Distribution::Exponential { min, mean } => write!(f, "{min} + exponential, mean {mean}"),
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Tagged {
    Constant(Duration),
    Uniform {
        min: Duration,
        max: Duration,
    },
    Exponential {
        #[serde(default)]
        min: Duration,
        mean: Duration,
    },
}

impl Serialize for Distribution {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            Distribution::Constant(d) => d.serialize(s),
            Distribution::Uniform { min, max } => Tagged::Uniform { min, max }.serialize(s),
            Distribution::Exponential { min, mean } => Tagged::Exponential { min, mean }.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Distribution {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> de::Visitor<'de> for Visitor {
            type Value = Distribution;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a duration such as \"5ms\", or {\"uniform\": {\"min\", \"max\"}}, or {\"exponential\": {\"min\", \"mean\"}}",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Distribution, E> {
                Duration::parse(v).map(Distribution::Constant).map_err(E::custom)
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Distribution, A::Error> {
                // Collected first, to say clearly what is wrong with a map
                // that does not have exactly one form in it.
                let fields: std::collections::BTreeMap<String, serde_json::Value> =
                    Deserialize::deserialize(de::value::MapAccessDeserializer::new(map))?;
                if fields.len() != 1 {
                    let keys: Vec<&str> = fields.keys().map(String::as_str).collect();
                    return Err(de::Error::custom(format!(
                        "a distribution has exactly one form (constant, uniform or exponential), got {{{}}}",
                        keys.join(", ")
                    )));
                }
                let tagged = Tagged::deserialize(serde_json::Value::Object(fields.into_iter().collect()))
                    .map_err(de::Error::custom)?;
                let dist = match tagged {
                    Tagged::Constant(d) => Distribution::Constant(d),
                    Tagged::Uniform { min, max } => Distribution::Uniform { min, max },
                    Tagged::Exponential { min, mean } => Distribution::Exponential { min, mean },
                };
                dist.validate().map_err(de::Error::custom)?;
                Ok(dist)
            }
        }
        d.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Distribution, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn reads_every_form() {
        assert_eq!(parse("\"5ms\"").unwrap(), Distribution::Constant(Duration::from_millis(5)));
        assert_eq!(
            parse(r#"{"uniform":{"min":"1ms","max":"3ms"}}"#).unwrap(),
            Distribution::Uniform { min: Duration::from_millis(1), max: Duration::from_millis(3) }
        );
        assert_eq!(
            parse(r#"{"exponential":{"mean":"2ms"}}"#).unwrap(),
            Distribution::Exponential { min: Duration::ZERO, mean: Duration::from_millis(2) }
        );
    }

    #[test]
    fn rejects_bad_forms_clearly() {
        assert!(parse(r#"{"uniform":{"min":"3ms","max":"1ms"}}"#).unwrap_err().contains("greater than max"));
        assert!(parse(r#"{"gaussian":{"mean":"3ms"}}"#).unwrap_err().contains("unknown variant `gaussian`"));
        assert!(parse("5").unwrap_err().contains("a duration such as"));
        assert!(parse(r#"{"uniform":{"min":"1ms","max":"3ms"},"constant":"1ms"}"#)
            .unwrap_err()
            .contains("exactly one form (constant, uniform or exponential), got {constant, uniform}"));
    }

    #[test]
    fn round_trips() {
        for json in
            [r#""5ms""#, r#"{"uniform":{"min":"1ms","max":"3ms"}}"#, r#"{"exponential":{"min":"1ms","mean":"5ms"}}"#]
        {
            let d = parse(json).unwrap();
            assert_eq!(serde_json::to_string(&d).unwrap(), json);
        }
    }

    #[test]
    fn samples_stay_in_range() {
        let mut rng = Rng::stream(1, 1);
        let u = Distribution::Uniform { min: Duration::from_millis(1), max: Duration::from_millis(3) };
        let e = Distribution::Exponential { min: Duration::from_millis(1), mean: Duration::from_millis(2) };
        for _ in 0..10_000 {
            let x = u.sample(&mut rng);
            assert!((1_000_000..=3_000_000).contains(&x));
            assert!(e.sample(&mut rng) >= 1_000_000);
        }
    }
}
