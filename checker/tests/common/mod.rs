//! Test helpers: a seeded PRNG and a generator of histories that are
//! linearizable by construction.
#![allow(dead_code)]

use checker::history::{Operation, Outcome, Time};
use checker::models::kv::{KvInput, KvOutput};
use checker::models::register::{RegisterInput, RegisterOutput};
use std::collections::BTreeMap;

/// SplitMix64: small, fixed, good enough for tests.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Each client issues `per_client` operations one after another, each
/// taking effect at a random instant inside its interval; the outputs come
/// from applying them in the order of those instants to a sequential
/// map of registers. Some operations end indeterminate (`info_percent`):
/// of those, half took effect and half did not.
pub fn register_history(
    rng: &mut Rng,
    clients: u64,
    per_client: usize,
    keys: u64,
    info_percent: u64,
) -> Vec<Operation<RegisterInput, RegisterOutput>> {
    struct Planned {
        op: Operation<RegisterInput, RegisterOutput>,
        at: Time,
        effect: bool,
    }
    let mut planned = Vec::new();
    let mut next_value = 1;
    for c in 0..clients {
        let mut t = rng.below(20);
        for _ in 0..per_client {
            let invoke = t;
            let complete = invoke + 1 + rng.below(40);
            // Distinct instants: times are multiplied by 1000 below.
            let at = invoke * 1000 + 1 + rng.below((complete - invoke) * 1000 - 1);
            let key = rng.below(keys);
            let input = if rng.chance(50) {
                RegisterInput::Read { key }
            } else {
                next_value += 1;
                RegisterInput::Write { key, value: next_value }
            };
            let info = rng.chance(info_percent);
            let effect = !info || rng.chance(50);
            planned.push(Planned {
                op: Operation {
                    client: c,
                    input,
                    output: None,
                    invoke: invoke * 1000,
                    complete: Some(complete * 1000),
                    outcome: if info { Outcome::Info } else { Outcome::Ok },
                },
                at,
                effect,
            });
            t = complete + rng.below(10);
            if info {
                // A client that timed out stops (as in Jepsen).
                break;
            }
        }
    }
    let mut order: Vec<usize> = (0..planned.len()).collect();
    order.sort_by_key(|&i| planned[i].at);
    let mut state: BTreeMap<u64, u64> = BTreeMap::new();
    for i in order {
        let p = &mut planned[i];
        if !p.effect {
            continue;
        }
        let out = match p.op.input {
            RegisterInput::Read { key } => RegisterOutput::Read(state.get(&key).copied()),
            RegisterInput::Write { key, value } => {
                state.insert(key, value);
                RegisterOutput::Write
            }
            RegisterInput::Cas { .. } => unreachable!(),
        };
        if p.op.outcome == Outcome::Ok {
            p.op.output = Some(out);
        }
    }
    let mut ops: Vec<_> = planned.into_iter().map(|p| p.op).collect();
    ops.sort_by_key(|o| (o.invoke, o.client));
    ops
}

/// The same, for the kv model: puts and gets of strings, on `keys` keys.
pub fn kv_history(rng: &mut Rng, clients: u64, per_client: usize, keys: u64) -> Vec<Operation<KvInput, KvOutput>> {
    register_history(rng, clients, per_client, keys, 0)
        .into_iter()
        .map(|o| {
            let (input, output) = match (o.input, o.output) {
                (RegisterInput::Read { key }, out) => (
                    KvInput::Get { key },
                    out.map(|r| match r {
                        RegisterOutput::Read(v) => KvOutput::Get(v.map(|v| format!("v{v}"))),
                        _ => unreachable!(),
                    }),
                ),
                (RegisterInput::Write { key, value }, out) => {
                    (KvInput::Put { key, value: format!("v{value}") }, out.map(|_| KvOutput::Done))
                }
                _ => unreachable!(),
            };
            Operation { client: o.client, input, output, invoke: o.invoke, complete: o.complete, outcome: o.outcome }
        })
        .collect()
}
