//! Bounds on a search. A search that would exceed one stops and answers
//! `Unknown`, saying which bound it hit. Time is counted in search steps, so
//! the answer is the same on every machine and in WebAssembly; a caller
//! that wants a wall-clock limit (the CLI's `--timeout`) passes an
//! `interrupt` that reads its own clock.

/// The default step bound: about a second of searching natively.
pub const DEFAULT_MAX_STEPS: u64 = 200_000_000;
/// The default bound on remembered (linearized set, state) pairs.
pub const DEFAULT_MAX_MEMO: usize = 4_000_000;
/// How many steps pass between calls to `interrupt`.
pub const INTERRUPT_EVERY: u64 = 1 << 14;

#[derive(Clone, Copy)]
pub struct Budget<'a> {
    /// Search steps (one per operation tried or undone) over the whole
    /// check, every partition included.
    pub max_steps: u64,
    /// Remembered (linearized set, state) pairs in one partition's search.
    pub max_memo: usize,
    /// Asked every [`INTERRUPT_EVERY`] steps; `true` stops the search.
    pub interrupt: Option<&'a dyn Fn() -> bool>,
}

impl Default for Budget<'_> {
    fn default() -> Self {
        Budget { max_steps: DEFAULT_MAX_STEPS, max_memo: DEFAULT_MAX_MEMO, interrupt: None }
    }
}

impl std::fmt::Debug for Budget<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Budget")
            .field("max_steps", &self.max_steps)
            .field("max_memo", &self.max_memo)
            .field("interrupt", &self.interrupt.is_some())
            .finish()
    }
}

/// Why a search gave up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exhausted {
    Steps,
    Memo,
    Interrupted,
}

impl std::fmt::Display for Exhausted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Exhausted::Steps => "the step budget ran out",
            Exhausted::Memo => "the memo of visited states is full",
            Exhausted::Interrupted => "the time limit ran out",
        })
    }
}
