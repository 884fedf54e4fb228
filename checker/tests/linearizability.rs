//! Hand-made histories: the search's verdicts, indeterminate operations
//! that did and did not take effect, closed intervals, budgets, and each
//! model.

use checker::budget::Exhausted;
use checker::history::{Operation, Outcome};
use checker::models::counter::{Counter, CounterInput, CounterOutput};
use checker::models::log::{Log, LogInput, LogOutput};
use checker::models::queue::{Queue, QueueInput, QueueOutput};
use checker::models::register::{Register, RegisterInput as I, RegisterOutput as O};
use checker::models::set::{Set, SetInput, SetOutput};
use checker::{check, Budget, Linearizable};

type Op = Operation<I, O>;

fn ok(client: u64, input: I, output: O, invoke: u64, complete: u64) -> Op {
    Operation { client, input, output: Some(output), invoke, complete: Some(complete), outcome: Outcome::Ok }
}
fn write(client: u64, value: u64, invoke: u64, complete: u64) -> Op {
    ok(client, I::Write { key: 0, value }, O::Write, invoke, complete)
}
fn read(client: u64, value: Option<u64>, invoke: u64, complete: u64) -> Op {
    ok(client, I::Read { key: 0 }, O::Read(value), invoke, complete)
}
fn verdict(h: &[Op]) -> Linearizable {
    check(&Register, h, &Budget::default()).linearizable
}

#[test]
fn sequential_and_concurrent_registers() {
    assert_eq!(verdict(&[write(0, 1, 0, 10), read(1, Some(1), 20, 30)]), Linearizable::Yes);
    assert_eq!(verdict(&[write(0, 1, 0, 10), read(1, None, 20, 30)]), Linearizable::No);
    // Concurrent: the read may go first.
    assert_eq!(verdict(&[write(0, 1, 0, 10), read(1, None, 5, 30)]), Linearizable::Yes);
    // Two reads disagreeing on the order of two concurrent writes.
    let h = [
        write(0, 1, 0, 50),
        write(1, 2, 0, 50),
        read(2, Some(1), 60, 70),
        read(3, Some(2), 80, 90),
        read(2, Some(1), 100, 110),
    ];
    assert_eq!(verdict(&h), Linearizable::No);
    assert_eq!(verdict(&h[..3]), Linearizable::Yes);
}

#[test]
fn intervals_are_closed() {
    // The read is invoked at the instant the write completes: concurrent.
    assert_eq!(verdict(&[write(0, 1, 10, 20), read(1, None, 20, 30)]), Linearizable::Yes);
    assert_eq!(verdict(&[write(0, 1, 10, 20), read(1, None, 21, 30)]), Linearizable::No);
}

#[test]
fn indeterminate_operations_may_or_may_not_take_effect() {
    let mut info = write(0, 1, 0, 10);
    info.outcome = Outcome::Info;
    info.output = None;
    // It took effect, late: seen after it timed out.
    assert_eq!(verdict(&[info.clone(), read(1, None, 20, 30), read(1, Some(1), 40, 50)]), Linearizable::Yes);
    // It never took effect.
    assert_eq!(verdict(&[info.clone(), read(1, None, 20, 30), read(1, None, 40, 50)]), Linearizable::Yes);
    // But not before it was invoked.
    let mut late = info.clone();
    late.invoke = 35;
    late.complete = Some(36);
    assert_eq!(verdict(&[late.clone(), read(1, Some(1), 20, 30)]), Linearizable::No);
    // And once seen, it stays (a single write takes effect once).
    assert_eq!(verdict(&[info, read(1, Some(1), 20, 30), read(1, None, 40, 50)]), Linearizable::No);
    // A failed write took no effect at all.
    let mut failed = write(0, 1, 0, 10);
    failed.outcome = Outcome::Fail;
    assert_eq!(verdict(&[failed.clone(), read(1, Some(1), 20, 30)]), Linearizable::No);
    assert_eq!(verdict(&[failed, read(1, None, 20, 30)]), Linearizable::Yes);
}

#[test]
fn compare_and_set_that_reports_failure_constrains_the_order() {
    let cas = |from, to, swapped, i, c| ok(2, I::Cas { key: 0, from, to }, O::Cas(swapped), i, c);
    assert_eq!(verdict(&[write(0, 1, 0, 10), cas(1, 2, true, 20, 30), read(1, Some(2), 40, 50)]), Linearizable::Yes);
    // It saw 1 and still did not swap: impossible.
    assert_eq!(verdict(&[write(0, 1, 0, 10), cas(1, 2, false, 20, 30)]), Linearizable::No);
    assert_eq!(verdict(&[write(0, 1, 0, 10), cas(3, 2, false, 20, 30)]), Linearizable::Yes);
}

#[test]
fn keys_are_independent_and_the_witness_names_the_key() {
    let w = |key, value, i, c| ok(0, I::Write { key, value }, O::Write, i, c);
    let r = |key, value, i, c| ok(1, I::Read { key }, O::Read(value), i, c);
    let h = [w(1, 5, 0, 10), w(2, 6, 0, 10), r(1, Some(5), 20, 30), r(2, Some(5), 20, 30)];
    let v = check(&Register, &h, &Budget::default());
    assert_eq!((v.linearizable, v.partitions), (Linearizable::No, 2));
    let wit = v.witness.unwrap();
    assert_eq!((wit.partition, wit.blocked, wit.violation_at), (2, Some(3), Some(30)));
    assert!(wit.explanation.iter().any(|l| l.contains("#3 client 1 read(k2) -> 5")), "{:?}", wit.explanation);
}

#[test]
fn a_budget_that_runs_out_answers_unknown() {
    // Many concurrent writes and reads of unknown order: a real search.
    let mut h: Vec<Op> = (0..12).map(|i| write(i, i + 1, 0, 100)).collect();
    h.push(read(20, Some(3), 200, 210));
    let tight = Budget { max_steps: 5, ..Budget::default() };
    let v = check(&Register, &h, &tight);
    assert_eq!((v.linearizable, v.exhausted), (Linearizable::Unknown, Some(Exhausted::Steps)));
    let small = Budget { max_memo: 3, ..Budget::default() };
    assert_eq!(check(&Register, &h, &small).exhausted, Some(Exhausted::Memo));
    let stop = || true;
    let interrupted = Budget { interrupt: Some(&stop), ..Budget::default() };
    let mut big: Vec<Op> = (0..40).map(|i| write(i, i + 1, 0, 100)).collect();
    big.push(read(50, Some(77), 200, 210));
    assert_eq!(check(&Register, &big, &interrupted).exhausted, Some(Exhausted::Interrupted));
    assert_eq!(check(&Register, &h, &Budget::default()).linearizable, Linearizable::Yes);
}

fn op<I2, O2>(client: u64, input: I2, output: O2, invoke: u64, complete: u64) -> Operation<I2, O2> {
    Operation { client, input, output: Some(output), invoke, complete: Some(complete), outcome: Outcome::Ok }
}

#[test]
fn counters_sets_logs_and_queues() {
    let b = Budget::default();
    let add = |d, i, c| op(0, CounterInput::Add { delta: d }, CounterOutput::Done, i, c);
    let get = |v, i, c| op(1, CounterInput::Read, CounterOutput::Read(v), i, c);
    assert_eq!(check(&Counter, &[add(2, 0, 10), add(3, 5, 15), get(2, 8, 20)], &b).linearizable, Linearizable::Yes);
    assert_eq!(check(&Counter, &[add(2, 0, 10), add(3, 5, 15), get(2, 16, 20)], &b).linearizable, Linearizable::No);

    let sadd = |e, i, c| op(0, SetInput::Add { element: e }, SetOutput::Done, i, c);
    let sread = |v: Vec<u64>, i, c| op(1, SetInput::Read, SetOutput::Read(v), i, c);
    assert_eq!(
        check(&Set, &[sadd(1, 0, 10), sadd(2, 0, 10), sread(vec![2], 5, 8)], &b).linearizable,
        Linearizable::Yes
    );
    assert_eq!(
        check(&Set, &[sadd(1, 0, 10), sadd(2, 0, 10), sread(vec![2], 11, 18)], &b).linearizable,
        Linearizable::No
    );

    let app = |v, o, i, c| op(0, LogInput::Append { key: 0, value: v }, LogOutput::Appended(o), i, c);
    let lread = |v: Vec<u64>, i, c| op(1, LogInput::Read { key: 0 }, LogOutput::Read(v), i, c);
    assert_eq!(
        check(&Log, &[app(7, 0, 0, 10), app(8, 1, 0, 10), lread(vec![7, 8], 20, 30)], &b).linearizable,
        Linearizable::Yes
    );
    assert_eq!(check(&Log, &[app(7, 0, 0, 10), app(8, 0, 0, 10)], &b).linearizable, Linearizable::No);

    let enq = |v, i, c| op(0, QueueInput::Enqueue { value: v }, QueueOutput::Done, i, c);
    let deq = |v, i, c| op(1, QueueInput::Dequeue, QueueOutput::Dequeued(v), i, c);
    assert_eq!(
        check(&Queue, &[enq(1, 0, 10), enq(2, 20, 30), deq(Some(1), 40, 50)], &b).linearizable,
        Linearizable::Yes
    );
    assert_eq!(
        check(&Queue, &[enq(1, 0, 10), enq(2, 20, 30), deq(Some(2), 40, 50)], &b).linearizable,
        Linearizable::No
    );
}
