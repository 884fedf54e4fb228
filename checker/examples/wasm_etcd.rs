//! The checker as a bare WebAssembly module (no bindings), for timing it
//! under Node: `scripts/bench-checker.sh --wasm` builds it with
//! `cargo build --release --target wasm32-unknown-unknown -p clusterlab-checker --example wasm_etcd`.
//!
//! Exports `alloc(len) -> ptr` (a buffer the caller fills with a Jepsen
//! etcd log) and `check_etcd(ptr, len) -> u32`: 1 linearizable,
//! 0 not, 2 unknown, 3 unreadable. Natively it does nothing.

use checker::formats::etcd;
use checker::models::register::Register;
use checker::{check, Budget, Linearizable};

/// Returns a buffer of `len` bytes that stays allocated (the
/// caller reuses it or leaks it).
#[no_mangle]
pub extern "C" fn alloc(len: usize) -> *mut u8 {
    let mut v = vec![0u8; len];
    let p = v.as_mut_ptr();
    std::mem::forget(v);
    p
}

/// # Safety
/// `ptr` must point to `len` initialised bytes (from [`alloc`]).
#[no_mangle]
pub unsafe extern "C" fn check_etcd(ptr: *const u8, len: usize) -> u32 {
    let bytes = std::slice::from_raw_parts(ptr, len);
    let Ok(text) = std::str::from_utf8(bytes) else { return 3 };
    let Ok(history) = etcd::parse(text) else { return 3 };
    match check(&Register, &history, &Budget::default()).linearizable {
        Linearizable::Yes => 1,
        Linearizable::No => 0,
        Linearizable::Unknown => 2,
    }
}

#[allow(dead_code)]
fn main() {}
