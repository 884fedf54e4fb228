//! The share link: a scenario and a moment of its run, in the URL fragment
//! (the part after `#`, which the browser never sends to a server).
//!
//! # Format v1
//!
//! ```text
//! #v1.<payload>
//!
//! payload  = base64url without padding (RFC 4648 section 5: A-Z a-z 0-9 - _) of
//!   bytes 0..4  the length of the envelope in bytes, u32 little-endian
//!   bytes 4..8  the CRC-32 of the envelope (IEEE 802.3, as in zlib and PNG), u32 little-endian
//!   bytes 8..   the envelope compressed as raw DEFLATE (RFC 1951), and nothing after it
//! envelope = minified JSON: {"scenario": <scenario document>, "at_ns": <whole number>}
//! ```
//!
//! `scenario` is the scenario document of `docs/scenario-format.md` (with its
//! own `version`); `at_ns` is the simulated time, in nanoseconds, at which
//! the viewer should open the run. A reader ignores envelope fields it does
//! not know; anything an older reader must not ignore needs a new link
//! version (`v2.`).
//!
//! The promise: every v1 link ever made opens in every later Cluster Lab.
//! The fixtures in `app/tests/fixtures/share-links/` hold that promise (see
//! the test `old_links_still_open`).
//!
//! Decoding never panics and never allocates more than
//! [`MAX_LINK_CHARS`] plus [`MAX_SCENARIO_BYTES`] for the text: the length
//! is checked before anything is decoded, and the inflated size is bounded
//! by the declared length, itself bounded by the scenario size limit (a zip
//! bomb stops there). Every refusal is a [`LinkError`] whose `Display` is a
//! plain-text sentence for the user (never HTML).
//!
//! Measured (the test `every_example_round_trips_and_stays_compact` prints
//! them with `--nocapture`): the 25 built-in examples encode to 1,046
//! (`web-three-servers`) to 2,146 (`web-cache-db`) characters; the 128-node
//! `large-web-tier`, a 16 KB file, to 1,700.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use engine::scenario::MAX_SCENARIO_BYTES;
use engine::{Scenario, ScenarioError};
use miniz_oxide::inflate::core::{decompress, inflate_flags, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;
use serde::Serialize;
use std::fmt;

/// The link format this Cluster Lab writes and the newest it reads.
pub const LINK_VERSION: u64 = 1;
/// The longest fragment (from `#` on, `#` included) that is decoded at all,
/// in characters. Longer text is refused before decoding; a link longer
/// than this is never made.
pub const MAX_LINK_CHARS: usize = 64 * 1024;
/// Bytes before the compressed envelope: its length and its CRC-32.
const HEADER_BYTES: usize = 8;
/// DEFLATE level: miniz's best (links are short; time does not matter).
const LEVEL: u8 = 10;

/// What a share link holds.
#[derive(Clone, Debug, PartialEq)]
pub struct SharedRun {
    pub scenario: Scenario,
    /// Simulated time, in nanoseconds, at which the viewer opens the run.
    pub at_ns: u64,
}

#[derive(Serialize)]
struct Envelope<'a> {
    scenario: &'a Scenario,
    at_ns: u64,
}

/// Why a link could not be made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// The envelope would be larger than a scenario may be.
    ScenarioTooLarge { bytes: usize, limit: usize },
    /// The link would be longer than [`MAX_LINK_CHARS`].
    LinkTooLong { chars: usize, limit: usize },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::ScenarioTooLarge { bytes, limit } => write!(
                f,
                "this scenario is too large to share: it is {bytes} bytes and the limit is {limit} bytes"
            ),
            EncodeError::LinkTooLong { chars, limit } => write!(
                f,
                "this scenario is too large for a link ({chars} characters; a link may have at most {limit}); export it as a file instead"
            ),
        }
    }
}

impl std::error::Error for EncodeError {}

/// Why a link could not be opened. `Display` says it in a plain sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkError {
    /// No `v<number>.` after the `#`: some other link, or none.
    NotALink,
    /// A link from a newer Cluster Lab.
    NewerVersion { version: u64 },
    /// Refused before decoding.
    TooLong { chars: usize, limit: usize },
    /// A character outside base64url; `position` counts characters of the
    /// text given, from 1.
    BadCharacter { position: usize, found: char },
    /// Cut off or altered: the checks on length, compression and checksum
    /// failed. `detail` says which, for the curious.
    Damaged { detail: &'static str },
    /// The envelope says it is larger than a scenario may be.
    TooLarge { bytes: u64, limit: usize },
    /// Intact, but the scenario (or `at_ns`) is not valid: the engine's
    /// message, with its path.
    Invalid(ScenarioError),
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::NotALink => {
                write!(f, "this is not a Cluster Lab share link: its part after '#' should start with \"v1.\"")
            }
            LinkError::NewerVersion { version } => write!(
                f,
                "this link was made by a newer Cluster Lab (format v{version}); this one reads v{LINK_VERSION}. Open it with a newer Cluster Lab."
            ),
            LinkError::TooLong { chars, limit } => write!(
                f,
                "this link is too long to open: {chars} characters; Cluster Lab opens links of at most {limit} characters"
            ),
            LinkError::BadCharacter { position, found } => write!(
                f,
                "the link has a character that cannot be in a Cluster Lab link at position {position}: {found:?}; copy the link again"
            ),
            LinkError::Damaged { detail } => {
                write!(f, "the link is incomplete or damaged ({detail}); copy the whole link again")
            }
            LinkError::TooLarge { bytes, limit } => write!(
                f,
                "the scenario in this link would be {bytes} bytes; the limit is {limit} bytes"
            ),
            LinkError::Invalid(e) => write!(f, "the scenario in this link is not valid: {e}"),
        }
    }
}

impl std::error::Error for LinkError {}

/// The link's fragment, `#v1.` and the payload: set it as
/// `location.hash`, or append it to the page's address. Use the run's
/// `Simulation::replay_scenario()` so that faults applied by hand are in it.
pub fn encode_link(scenario: &Scenario, at_ns: u64) -> Result<String, EncodeError> {
    let json = serde_json::to_vec(&Envelope { scenario, at_ns }).expect("a scenario always serialises");
    if json.len() > MAX_SCENARIO_BYTES {
        return Err(EncodeError::ScenarioTooLarge { bytes: json.len(), limit: MAX_SCENARIO_BYTES });
    }
    let mut bytes = Vec::with_capacity(json.len() / 4 + HEADER_BYTES);
    bytes.extend_from_slice(&(json.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&crc32fast::hash(&json).to_le_bytes());
    bytes.extend_from_slice(&miniz_oxide::deflate::compress_to_vec(&json, LEVEL));
    let link = format!("#v{LINK_VERSION}.{}", URL_SAFE_NO_PAD.encode(&bytes));
    if link.len() > MAX_LINK_CHARS {
        return Err(EncodeError::LinkTooLong { chars: link.len(), limit: MAX_LINK_CHARS });
    }
    Ok(link)
}

/// Reads a link: `location.hash` (`#v1.…`), the fragment without `#`, or a
/// whole address (everything up to the first `#` is skipped). Surrounding
/// whitespace is ignored. [`LinkError::NotALink`] for an empty fragment
/// means there is simply no shared run to open.
pub fn decode_link(text: &str) -> Result<SharedRun, LinkError> {
    let text = text.trim();
    // The fragment, `#` included.
    let fragment = &text[text.find('#').unwrap_or(0)..];
    if fragment.len() > MAX_LINK_CHARS {
        let chars = fragment.chars().count();
        if chars > MAX_LINK_CHARS {
            return Err(LinkError::TooLong { chars, limit: MAX_LINK_CHARS });
        }
    }
    let payload = strip_version(fragment.strip_prefix('#').unwrap_or(fragment))?;
    // Characters of `text` before the payload, for positions.
    let before_payload = text[..text.len() - payload.len()].chars().count();
    if let Some((i, found)) =
        payload.chars().enumerate().find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    {
        return Err(LinkError::BadCharacter { position: before_payload + i + 1, found });
    }
    // Only the length or the final character can be wrong now: a cut-off link.
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| LinkError::Damaged { detail: "it ends in the middle of a character group" })?;
    let json = unpack(&bytes)?;
    let value: serde_json::Value = serde_json::from_slice(&json)
        .map_err(|e| LinkError::Invalid(ScenarioError::new("", format!("not valid JSON: {e}"))))?;
    read_envelope(value).map_err(LinkError::Invalid)
}

/// `v1.` off the front, or why not.
fn strip_version(fragment: &str) -> Result<&str, LinkError> {
    let Some(rest) = fragment.strip_prefix('v') else {
        return Err(LinkError::NotALink);
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let after = &rest[digits..];
    // `v1.`, `v2.`, `v10.`: a number without a leading zero, then a dot.
    if digits == 0 || !after.starts_with('.') || rest.starts_with('0') {
        return Err(LinkError::NotALink);
    }
    // More digits than fit: certainly newer than this one.
    let version = rest[..digits].parse::<u64>().unwrap_or(u64::MAX);
    if version > LINK_VERSION {
        return Err(LinkError::NewerVersion { version });
    }
    Ok(&after[1..])
}

/// Header, bounded inflation, checks: the envelope's JSON bytes.
fn unpack(bytes: &[u8]) -> Result<Vec<u8>, LinkError> {
    if bytes.len() < HEADER_BYTES {
        return Err(LinkError::Damaged { detail: "it is shorter than its header" });
    }
    let declared = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    let crc = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    let data = &bytes[HEADER_BYTES..];
    let declared_len = declared as usize;
    if declared_len > MAX_SCENARIO_BYTES {
        return Err(LinkError::TooLarge { bytes: u64::from(declared), limit: MAX_SCENARIO_BYTES });
    }
    // One byte more than declared, so that "more than declared" shows as
    // such rather than as a full buffer.
    let mut out = vec![0u8; declared_len + 1];
    let mut inflater = Box::<DecompressorOxide>::default();
    let (status, consumed, written) =
        decompress(&mut inflater, data, &mut out, 0, inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF);
    match status {
        TINFLStatus::Done => {}
        TINFLStatus::FailedCannotMakeProgress | TINFLStatus::NeedsMoreInput => {
            return Err(LinkError::Damaged { detail: "the compressed data ends early" })
        }
        TINFLStatus::HasMoreOutput => return Err(LinkError::Damaged { detail: "it holds more data than it declares" }),
        _ => return Err(LinkError::Damaged { detail: "the compressed data is corrupt" }),
    }
    if written != declared_len {
        return Err(LinkError::Damaged { detail: "its length does not match" });
    }
    if consumed != data.len() {
        return Err(LinkError::Damaged { detail: "there is extra data after its end" });
    }
    out.truncate(written);
    if crc32fast::hash(&out) != crc {
        return Err(LinkError::Damaged { detail: "its checksum does not match" });
    }
    Ok(out)
}

fn read_envelope(value: serde_json::Value) -> Result<SharedRun, ScenarioError> {
    let serde_json::Value::Object(mut obj) = value else {
        return Err(ScenarioError::new("", "a share link must hold a JSON object"));
    };
    let scenario = obj.remove("scenario").ok_or_else(|| ScenarioError::new("scenario", "missing"))?;
    let scenario = Scenario::from_value(scenario)?;
    let at_ns = match obj.get("at_ns") {
        None => return Err(ScenarioError::new("at_ns", "missing")),
        Some(v) => v
            .as_u64()
            .ok_or_else(|| ScenarioError::new("at_ns", format!("must be a whole number of nanoseconds, got {v}")))?,
    };
    Ok(SharedRun { scenario, at_ns })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::examples::{self, EXAMPLES};

    fn example(id: &str) -> Scenario {
        Scenario::from_json(examples::find(id).unwrap().json).unwrap()
    }

    /// A link built by hand from envelope bytes, with a correct header
    /// unless the caller tampers with it.
    fn link_of(json: &[u8]) -> String {
        let mut bytes = (json.len() as u32).to_le_bytes().to_vec();
        bytes.extend_from_slice(&crc32fast::hash(json).to_le_bytes());
        bytes.extend_from_slice(&miniz_oxide::deflate::compress_to_vec(json, 6));
        format!("#v1.{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    fn payload_bytes(link: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(link.strip_prefix("#v1.").unwrap()).unwrap()
    }

    fn relink(bytes: &[u8]) -> String {
        format!("#v1.{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    #[test]
    fn every_example_round_trips_and_stays_compact() {
        let mut report = String::new();
        let mut longest = 0;
        for (i, ex) in EXAMPLES.iter().enumerate() {
            let scenario = Scenario::from_json(ex.json).unwrap();
            let at_ns = 1_234_567_891 * i as u64;
            let link = encode_link(&scenario, at_ns).unwrap();
            assert!(link.starts_with("#v1."), "{link}");
            let back = decode_link(&link).unwrap_or_else(|e| panic!("{}: {e}", ex.id));
            assert_eq!(back.scenario, scenario, "{}", ex.id);
            assert_eq!(back.at_ns, at_ns, "{}", ex.id);
            report.push_str(&format!("{:>28}: {:>5} characters (file {} bytes)\n", ex.id, link.len(), ex.json.len()));
            longest = longest.max(link.len());
        }
        println!("share link lengths:\n{report}");
        assert!(longest <= 3 * 1024, "an example's link grew past 3 KiB:\n{report}");
    }

    #[test]
    fn a_whole_address_or_a_bare_fragment_opens_too() {
        let s = example("link-cut");
        let link = encode_link(&s, 42).unwrap();
        let bare = link.trim_start_matches('#');
        for text in
            [link.clone(), bare.to_string(), format!("https://lab.example/path/?x=1{link}"), format!("  {link}\n")]
        {
            let run = decode_link(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!((run.scenario, run.at_ns), (s.clone(), 42));
        }
    }

    #[test]
    fn the_largest_time_survives() {
        let s = example("web-three-servers");
        assert_eq!(decode_link(&encode_link(&s, u64::MAX).unwrap()).unwrap().at_ns, u64::MAX);
    }

    #[test]
    fn other_links_are_not_share_links() {
        for text in ["", "#", "#about", "#v", "#v.abc", "#va.abc", "#v1", "#v1abc", "#v01.abc", "#v0.abc", "#V1.abc"] {
            assert_eq!(decode_link(text), Err(LinkError::NotALink), "{text:?}");
        }
        let msg = LinkError::NotALink.to_string();
        assert!(msg.contains("not a Cluster Lab share link"), "{msg}");
    }

    #[test]
    fn a_newer_version_says_so() {
        let e = decode_link("#v2.AAAA").unwrap_err();
        assert_eq!(e, LinkError::NewerVersion { version: 2 });
        assert_eq!(
            e.to_string(),
            "this link was made by a newer Cluster Lab (format v2); this one reads v1. Open it with a newer Cluster Lab."
        );
        // The payload of a newer link is not judged by this version's rules.
        assert_eq!(decode_link("#v17.!!not base64!!"), Err(LinkError::NewerVersion { version: 17 }));
        assert_eq!(decode_link("#v99999999999999999999999.x"), Err(LinkError::NewerVersion { version: u64::MAX }));
    }

    #[test]
    fn a_bad_character_is_named_with_its_position() {
        let link = encode_link(&example("link-cut"), 0).unwrap();
        // `#v1.` is 4 characters; replace the 10th character of the text.
        let mut chars: Vec<char> = link.chars().collect();
        chars[9] = '%';
        let bad: String = chars.iter().collect();
        let e = decode_link(&bad).unwrap_err();
        assert_eq!(e, LinkError::BadCharacter { position: 10, found: '%' });
        assert_eq!(
            e.to_string(),
            "the link has a character that cannot be in a Cluster Lab link at position 10: '%'; copy the link again"
        );
        // A space in the middle (a line broken by a mail program), standard
        // base64's `+`, padding, a non-ASCII character.
        for (c, name) in [(' ', "' '"), ('+', "'+'"), ('=', "'='"), ('é', "'é'")] {
            let mut chars: Vec<char> = link.chars().collect();
            chars[20] = c;
            let text: String = chars.iter().collect();
            let e = decode_link(&text).unwrap_err();
            assert_eq!(e, LinkError::BadCharacter { position: 21, found: c });
            assert!(e.to_string().contains(&format!("position 21: {name}")), "{e}");
        }
        // Positions count characters of the whole text given, address and all.
        let text = format!("https://x/#{}", &link[1..]);
        let mut chars: Vec<char> = text.chars().collect();
        chars[30] = '*';
        let text: String = chars.iter().collect();
        assert_eq!(decode_link(&text), Err(LinkError::BadCharacter { position: 31, found: '*' }));
    }

    #[test]
    fn too_long_text_is_refused_before_decoding() {
        // Not even valid base64 past the limit: the length check comes first.
        let text = format!("#v1.{}", "!".repeat(MAX_LINK_CHARS));
        let e = decode_link(&text).unwrap_err();
        assert_eq!(e, LinkError::TooLong { chars: MAX_LINK_CHARS + 4, limit: MAX_LINK_CHARS });
        assert!(e.to_string().contains("too long"), "{e}");
        // Exactly at the limit is decoded (and found damaged, not too long).
        let text = format!("#v1.{}", "A".repeat(MAX_LINK_CHARS - 4));
        assert!(matches!(decode_link(&text), Err(LinkError::Damaged { .. })), "{:?}", decode_link(&text));
    }

    #[test]
    fn a_declared_size_past_the_scenario_limit_is_refused() {
        let mut bytes = ((MAX_SCENARIO_BYTES + 1) as u32).to_le_bytes().to_vec();
        bytes.extend_from_slice(&[0; 4]);
        bytes.extend_from_slice(&miniz_oxide::deflate::compress_to_vec(b"{}", 6));
        let e = decode_link(&relink(&bytes)).unwrap_err();
        assert_eq!(e, LinkError::TooLarge { bytes: MAX_SCENARIO_BYTES as u64 + 1, limit: MAX_SCENARIO_BYTES });
        assert_eq!(
            e.to_string(),
            format!("the scenario in this link would be 1048577 bytes; the limit is 1048576 bytes")
        );
    }

    #[test]
    fn a_zip_bomb_stops_at_the_declared_size() {
        // 32 MiB of zeros compress to about 32 KiB, a link within the
        // length limit; the header claims 100 bytes. Inflation stops after
        // 101 bytes instead of allocating 32 MiB.
        let zeros = vec![0u8; 32 << 20];
        let mut bytes = 100u32.to_le_bytes().to_vec();
        bytes.extend_from_slice(&crc32fast::hash(&zeros[..100]).to_le_bytes());
        let compressed = miniz_oxide::deflate::compress_to_vec(&zeros, 10);
        assert!(relink(&bytes).len() + compressed.len() * 4 / 3 < MAX_LINK_CHARS, "{}", compressed.len());
        bytes.extend_from_slice(&compressed);
        let e = decode_link(&relink(&bytes)).unwrap_err();
        assert_eq!(e, LinkError::Damaged { detail: "it holds more data than it declares" });
        // Claiming the whole limit does not help either: at most
        // MAX_SCENARIO_BYTES + 1 bytes are ever written.
        bytes[..4].copy_from_slice(&(MAX_SCENARIO_BYTES as u32).to_le_bytes());
        assert_eq!(
            decode_link(&relink(&bytes)),
            Err(LinkError::Damaged { detail: "it holds more data than it declares" })
        );
    }

    #[test]
    fn truncation_and_corruption_say_damaged() {
        let link = encode_link(&example("db-split-brain"), 5_000_000_000).unwrap();
        let bytes = payload_bytes(&link);
        let damaged = |text: &str| match decode_link(text) {
            Err(LinkError::Damaged { detail }) => detail,
            other => panic!("{text}: {other:?}"),
        };
        assert_eq!(damaged(&relink(&bytes[..5])), "it is shorter than its header");
        assert_eq!(damaged(&relink(&bytes[..bytes.len() - 10])), "the compressed data ends early");
        // Cut inside a base64 group: a single leftover character.
        let odd = (4..link.len()).rev().find(|&n| (n - 4) % 4 == 1).unwrap();
        assert_eq!(damaged(&link[..odd]), "it ends in the middle of a character group");
        let mut longer = bytes.clone();
        longer.extend_from_slice(b"junk");
        assert_eq!(damaged(&relink(&longer)), "there is extra data after its end");
        let declared = u32::from_le_bytes(bytes[..4].try_into().unwrap());
        let with_length = |n: u32| {
            let mut b = bytes.clone();
            b[..4].copy_from_slice(&n.to_le_bytes());
            relink(&b)
        };
        assert_eq!(damaged(&with_length(declared - 2)), "it holds more data than it declares");
        assert_eq!(damaged(&with_length(declared - 1)), "its length does not match");
        assert_eq!(damaged(&with_length(declared + 1)), "its length does not match");
        assert_eq!(damaged(&with_length(0)), "it holds more data than it declares");
        let mut wrong_crc = bytes.clone();
        wrong_crc[5] ^= 0x10;
        assert_eq!(damaged(&relink(&wrong_crc)), "its checksum does not match");
        let msg = LinkError::Damaged { detail: "its checksum does not match" }.to_string();
        assert_eq!(msg, "the link is incomplete or damaged (its checksum does not match); copy the whole link again");
    }

    #[test]
    fn an_invalid_scenario_passes_the_engines_path_and_message_through() {
        let mut value: serde_json::Value = serde_json::from_str(examples::find("link-cut").unwrap().json).unwrap();
        value["nodes"][1]["servers"] = serde_json::json!([{ "node": "nowhere" }]);
        let engine_error = Scenario::from_value(value.clone()).unwrap_err();
        assert!(engine_error.path.starts_with("nodes[1]"), "{engine_error}");
        let json = serde_json::to_vec(&serde_json::json!({ "scenario": value, "at_ns": 3 })).unwrap();
        let e = decode_link(&link_of(&json)).unwrap_err();
        assert_eq!(e, LinkError::Invalid(engine_error.clone()));
        assert_eq!(e.to_string(), format!("the scenario in this link is not valid: {engine_error}"));

        // A scenario from a newer engine inside a v1 link: the engine's
        // "newer" message.
        let mut newer = serde_json::to_value(example("link-cut")).unwrap();
        newer["version"] = 2.into();
        let json = serde_json::to_vec(&serde_json::json!({ "scenario": newer, "at_ns": 0 })).unwrap();
        let e = decode_link(&link_of(&json)).unwrap_err();
        assert!(e.to_string().contains("newer than this Cluster Lab understands"), "{e}");
    }

    #[test]
    fn the_envelope_is_checked() {
        let s = serde_json::to_value(example("link-cut")).unwrap();
        let cases = [
            (serde_json::json!([1, 2]), "", "a share link must hold a JSON object"),
            (serde_json::json!({ "at_ns": 1 }), "scenario", "missing"),
            (serde_json::json!({ "scenario": s }), "at_ns", "missing"),
            (
                serde_json::json!({ "scenario": s, "at_ns": -1 }),
                "at_ns",
                "must be a whole number of nanoseconds, got -1",
            ),
            (
                serde_json::json!({ "scenario": s, "at_ns": 1.5 }),
                "at_ns",
                "must be a whole number of nanoseconds, got 1.5",
            ),
        ];
        for (envelope, path, message) in cases {
            let e = decode_link(&link_of(&serde_json::to_vec(&envelope).unwrap())).unwrap_err();
            assert_eq!(e, LinkError::Invalid(ScenarioError::new(path, message)), "{envelope}");
        }
        // Unknown envelope fields are ignored (room for optional additions).
        let envelope = serde_json::json!({ "scenario": s, "at_ns": 7, "view": "kafka" });
        assert_eq!(decode_link(&link_of(&serde_json::to_vec(&envelope).unwrap())).unwrap().at_ns, 7);
        // Intact bytes that are not JSON.
        let e = decode_link(&link_of(b"\xff not json")).unwrap_err();
        assert!(matches!(&e, LinkError::Invalid(se) if se.message.starts_with("not valid JSON")), "{e:?}");
    }

    #[test]
    fn a_scenario_too_large_to_share_is_refused_when_encoding() {
        let mut s = example("web-three-servers");
        // Incompressible text: the link outgrows its limit long before
        // the scenario outgrows its own.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        s.description = (0..120_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                char::from(b'a' + (x % 26) as u8)
            })
            .collect();
        match encode_link(&s, 0) {
            Err(EncodeError::LinkTooLong { chars, limit }) => assert!(chars > limit && limit == MAX_LINK_CHARS),
            other => panic!("{:?}", other.map(|link| link.len())),
        }
        s.description = "a".repeat(MAX_SCENARIO_BYTES);
        match encode_link(&s, 0) {
            Err(e @ EncodeError::ScenarioTooLarge { .. }) => {
                assert!(e.to_string().contains("too large to share"), "{e}")
            }
            other => panic!("{:?}", other.map(|link| link.len())),
        }
    }

    /// A small xorshift for the fuzz test below (the test needs variety,
    /// not quality).
    struct Fuzz(u64);
    impl Fuzz {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn no_input_panics_and_no_damage_goes_unnoticed() {
        let original = SharedRun { scenario: example("raft-kv-leader-crash"), at_ns: 9_000_000_000 };
        let link = encode_link(&original.scenario, original.at_ns).unwrap();
        // Every result is an error or exactly the original run (a change in
        // bits that DEFLATE ignores, after the end-of-block code, is
        // harmless).
        let check = |text: &str| match decode_link(text) {
            Ok(run) => assert_eq!(run, original, "{text}"),
            Err(e) => assert!(!e.to_string().is_empty()),
        };
        // Every truncation.
        for n in 0..link.len() {
            assert!(decode_link(&link[..n]).is_err(), "{n}");
        }
        // Every single-character change to another base64url character.
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut unnoticed = 0;
        for i in 4..link.len() {
            for &c in ALPHABET.iter().step_by(7) {
                if link.as_bytes()[i] == c {
                    continue;
                }
                let mut b = link.clone().into_bytes();
                b[i] = c;
                let text = String::from_utf8(b).unwrap();
                check(&text);
                unnoticed += usize::from(decode_link(&text).is_ok());
            }
        }
        // Only the last character's spare bits can go unnoticed.
        assert!(unnoticed <= ALPHABET.len(), "{unnoticed}");
        // Random byte edits, insertions and deletions of the payload bytes,
        // and random text.
        let bytes = payload_bytes(&link);
        let mut rng = Fuzz(0x2545_f491_4f6c_dd1d);
        for _ in 0..3_000 {
            let mut b = bytes.clone();
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(b.len());
                match rng.below(3) {
                    0 => b[i] = rng.next() as u8,
                    1 => b.insert(i, rng.next() as u8),
                    _ => {
                        b.remove(i);
                    }
                }
            }
            check(&relink(&b));
        }
        for _ in 0..3_000 {
            let len = rng.below(200);
            let raw: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            assert!(decode_link(&relink(&raw)).is_err());
            assert!(decode_link(&String::from_utf8_lossy(&raw)).is_err());
            let text: String = (0..len).map(|_| ALPHABET[rng.below(64)] as char).collect();
            assert!(decode_link(&format!("#v1.{text}")).is_err());
        }
    }

    /// The compatibility promise: links made by earlier versions of this
    /// code. The files in `app/tests/fixtures/share-links/` must NEVER be
    /// regenerated or edited (see the README there): if this test fails,
    /// the change broke links people already shared. Fix the decoder, or
    /// make the change a new link version that reads v1 as before.
    #[test]
    fn old_links_still_open() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/share-links");
        let mut checked = 0;
        let mut names: Vec<_> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        for name in names.iter().filter(|n| n.ends_with(".link.txt")) {
            let id = name.trim_end_matches(".link.txt");
            let text = std::fs::read_to_string(format!("{dir}/{name}")).unwrap();
            let field = |key: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(key))
                    .unwrap_or_else(|| panic!("{name}: no `{key}` line"))
                    .trim()
                    .to_string()
            };
            let link = field("link:");
            let at_ns: u64 = field("at_ns:").parse().unwrap();
            let expected = std::fs::read_to_string(format!("{dir}/{id}.scenario.json")).unwrap();
            let expected = Scenario::from_json(&expected).unwrap_or_else(|e| panic!("{id}.scenario.json: {e}"));
            let run = decode_link(&link).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(run.scenario, expected, "{name}");
            assert_eq!(run.at_ns, at_ns, "{name}");
            checked += 1;
        }
        assert!(checked >= 4, "only {checked} fixtures found in {dir}");
    }
}
