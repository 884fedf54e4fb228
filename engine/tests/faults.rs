//! Each fault does what the real thing does.
mod common;
use common::*;
use engine::network::DropReason;
use engine::node::Status;
use engine::sim::Detail;
use engine::trace::What;
use serde_json::json;

fn served(sim: &engine::Simulation, name: &str) -> (u64, u32) {
    match sim.node_state(sim.node_id(name).unwrap()).detail {
        Detail::Server { served, boots, .. } => (served, boots),
        other => panic!("{name} is not a server: {other:?}"),
    }
}

/// Deliveries from `from` to `to` in the kept trace, within [t0, t1).
fn deliveries(sim: &engine::Simulation, from: &str, to: &str, t0: u64, t1: u64) -> usize {
    let (f, t) = (sim.node_id(from).unwrap(), sim.node_id(to).unwrap());
    sim.trace()
        .events()
        .iter()
        .filter(|e| e.time >= t0 && e.time < t1)
        .filter(|e| matches!(e.what, What::Deliver { from, to, .. } if from == f && to == t))
        .count()
}

#[test]
fn a_one_way_partition_delivers_nothing_in_the_cut_direction_only() {
    let mut v = client_server(100.0);
    v["faults"] = json!([
        { "at": "1s", "action": "partition_one_way", "from": ["s"], "to": ["c"] },
        { "at": "2s", "action": "heal" }
    ]);
    let mut sim = sim(v);
    sim.run_until(3 * SEC);
    // Requests still reach the server; answers stop, then come back.
    assert!(deliveries(&sim, "c", "s", SEC + 10 * MS, 2 * SEC) >= 95);
    assert_eq!(deliveries(&sim, "s", "c", SEC + 10 * MS, 2 * SEC), 0);
    assert!(deliveries(&sim, "s", "c", 2 * SEC + 10 * MS, 3 * SEC) >= 95);
    // The client saw timeouts (indeterminate), not errors.
    let m = sim.metrics().summary(sim.now());
    assert!(m.counts.timeouts >= 95, "{:?}", m.counts);
    assert_eq!(m.counts.errors, 0);
}

#[test]
fn a_symmetric_partition_cuts_both_ways_including_messages_in_flight() {
    let mut v = client_server(1000.0);
    v["faults"] = json!([{ "at": "1s", "action": "partition", "groups": [["c"], ["s"]] }]);
    let mut sim = sim(v);
    sim.run_until(2 * SEC);
    // Nothing is delivered once the cut is in place, even what was sent
    // before it and was still on the wire.
    assert_eq!(deliveries(&sim, "c", "s", SEC, 2 * SEC), 0);
    assert_eq!(deliveries(&sim, "s", "c", SEC, 2 * SEC), 0);
    let dropped_in_flight = sim
        .trace()
        .events()
        .iter()
        .filter(|e| e.time >= SEC && matches!(e.what, What::Drop { sent_at, .. } if sent_at < SEC))
        .count();
    assert!(dropped_in_flight > 0, "messages on the wire at the cut are lost");
}

#[test]
fn a_crash_loses_volatile_state_and_keeps_persisted_state() {
    let mut v = client_server(200.0);
    v["faults"] = json!([
        { "at": "1s", "action": "crash", "node": "s" },
        { "at": "2s", "action": "restart", "node": "s" }
    ]);
    let mut sim = sim(v);
    sim.run_until(SEC - MS);
    let (served_before, boots_before) = served(&sim, "s");
    assert!(served_before > 150);
    assert_eq!(boots_before, 1);
    sim.run_until(SEC + 500 * MS);
    assert!(matches!(sim.node_state(1).status, Status::Crashed { host_down: false }));
    sim.run_until(2 * SEC + MS);
    let (served_after, boots_after) = served(&sim, "s");
    // The in-memory count started over; the boot count on disk went on.
    assert!(served_after < 5, "served {served_after} right after restart");
    assert_eq!(boots_after, 2);
    assert_eq!(sim.node_state(1).restarts, 1);
    // While down, the host refused connections: the client saw definite
    // failures at once, not timeouts.
    let m = sim.metrics().summary(sim.now());
    assert!(m.counts.errors >= 190, "{:?}", m.counts);
}

#[test]
fn a_powered_off_host_answers_nothing() {
    let mut v = client_server(200.0);
    v["faults"] = json!([{ "at": "1s", "action": "crash", "node": "s", "host_down": true }]);
    let mut sim = sim(v);
    sim.run_until(3 * SEC);
    let m = sim.metrics().summary(sim.now());
    assert_eq!(m.counts.errors, 0);
    // Sent between 1 s and 2.5 s: timed out by 3 s. Nothing was refused,
    // and no connection was closed: the host is off.
    assert!(m.counts.timeouts >= 295, "{:?}", m.counts);
    assert_eq!(closed(&sim), Vec::<u64>::new());
}

#[test]
fn a_paused_node_makes_no_progress_and_catches_up_on_resume() {
    let mut v = client_server(100.0);
    v["faults"] = json!([
        { "at": "1s", "action": "pause", "node": "s" },
        { "at": "1200ms", "action": "resume", "node": "s" }
    ]);
    let mut sim = sim(v);
    sim.run_until(SEC + MS);
    let (at_pause, _) = served(&sim, "s");
    sim.run_until(SEC + 199 * MS);
    assert_eq!(served(&sim, "s").0, at_pause, "a paused node serves nothing");
    assert_eq!(sim.node_state(1).status, Status::Paused);
    sim.run_until(SEC + 300 * MS);
    // The 20 requests that arrived while paused were kept and served.
    assert!(served(&sim, "s").0 >= at_pause + 25);
    // Its boot count did not change: a pause is not a restart.
    assert_eq!(served(&sim, "s").1, 1);
}

#[test]
fn skewed_clocks_read_differently_and_drift_changes_timer_rates() {
    let mut v = client_server(1000.0);
    v["faults"] = json!([{ "at": "1s", "action": "skew_clock", "node": "c", "offset": "-2s", "drift_ppm": 100000 }]);
    let mut sim = sim(v);
    sim.run_until(SEC);
    let sent_first_second = sim.metrics().summary(sim.now()).counts.sent;
    sim.run_until(2 * SEC);
    let c = sim.node_state(0);
    let s = sim.node_state(1);
    // The client's wall clock is 2 s behind plus 10% of a second gained.
    assert_eq!(c.clock_error_ns, -2 * SEC as i64 + 100 * MS as i64);
    assert_eq!(s.clock_error_ns, 0);
    // Its clock runs 10% fast, so its "1000 per second" comes 10% faster.
    let sent_second_second = sim.metrics().summary(sim.now()).counts.sent - sent_first_second;
    assert!((1095..=1105).contains(&sent_second_second), "{sent_second_second}");
}

#[test]
fn a_slow_node_takes_longer() {
    let mut v = client_server(100.0);
    v["faults"] = json!([{ "at": "1s", "action": "slow_node", "node": "s", "factor": 5 }]);
    let mut sim = sim(v);
    sim.run_until(2 * SEC + 1);
    let rows = sim.metrics().series();
    // 1 ms each way plus 2 ms of service, then plus 10 ms.
    assert!((rows[0].latency.p50_ms - 4.0).abs() < 0.1, "{:?}", rows[0].latency);
    assert!((rows[1].latency.p50_ms - 12.0).abs() < 0.1, "{:?}", rows[1].latency);
}

#[test]
fn a_degraded_link_is_slower_and_lossy_until_restored() {
    // Half the server's capacity, so queueing does not blur the latency.
    let mut v = client_server(500.0);
    v["faults"] = json!([
        { "at": "1s", "action": "degrade_link", "between": ["c", "s"], "latency": "50ms", "loss": 0.5 },
        { "at": "2s", "action": "restore_link", "between": ["c", "s"] }
    ]);
    let mut sim = sim(v);
    sim.run_until(3 * SEC + 1);
    let rows = sim.metrics().series();
    assert!((rows[0].latency.p50_ms - 4.0).abs() < 0.1);
    // Both directions lose half: 25% of requests make the round trip.
    let ok_rate = rows[1].counts.ok as f64 / 500.0;
    assert!((0.2..0.3).contains(&ok_rate), "{ok_rate}");
    assert!(rows[2].latency.p50_ms < 5.0, "{:?}", rows[2]);
}

/// Deliveries of `ConnectionClosed` in the kept trace.
fn closed(sim: &engine::Simulation) -> Vec<u64> {
    sim.trace()
        .events()
        .iter()
        .filter(|e| matches!(e.what, What::Deliver { msg: engine::message::Message::ConnectionClosed { .. }, .. }))
        .map(|e| e.time)
        .collect()
}

#[test]
fn a_killed_process_closes_the_connections_it_held() {
    // 100 requests/s on 2 workers of 100 ms each: a backlog builds up.
    let mut v = client_server(100.0);
    v["nodes"][1]["service_time"] = json!("100ms");
    v["faults"] = json!([{ "at": "1s", "action": "crash", "node": "s" }]);
    let mut sim = sim(v);
    sim.run_until(3 * SEC);
    // Every request s had taken (2 in service, the rest queued) hears at
    // once, over the 1 ms link: indeterminate, since s may have done it.
    // (The client had given up on the oldest already; it ignores those.)
    let at = closed(&sim);
    assert!(at.iter().all(|&t| t == SEC + MS), "{at:?}");
    let ops = sim.history().ops();
    let held: Vec<_> = ops.iter().filter(|o| o.complete == Some(SEC + MS)).collect();
    assert!(held.len() >= 45 && held.len() <= at.len(), "{} of {}", held.len(), at.len());
    assert!(held.iter().all(|o| o.outcome == engine::history::Outcome::Info && o.invoke < SEC));
    // None of what was sent before the crash waited for the client's
    // 500 ms timeout.
    assert!(ops.iter().filter(|o| o.invoke < SEC).all(|o| o.complete.is_some_and(|c| c <= SEC + MS)));
}

#[test]
fn a_process_killed_while_paused_closes_what_waited_unread() {
    let mut v = client_server(100.0);
    v["faults"] = json!([
        { "at": "1s", "action": "pause", "node": "s" },
        { "at": "1500ms", "action": "crash", "node": "s" }
    ]);
    let mut sim = sim(v);
    sim.run_until(2 * SEC);
    // About 50 requests arrived while it was paused and wait unread, within
    // the client's 500 ms timeout: each hears at the crash.
    let at = closed(&sim);
    assert!(at.len() >= 45, "{}", at.len());
    assert!(at.iter().all(|&t| t == 1_500 * MS + MS), "{at:?}");
    // (The one sent at 1 s timed out at 1.5 s, just before.)
    let held: Vec<_> = sim.history().ops().iter().filter(|o| o.complete == Some(1_500 * MS + MS)).collect();
    assert!(held.len() >= 45 && held.len() <= at.len(), "{} of {}", held.len(), at.len());
    assert!(held.iter().all(|o| o.outcome == engine::history::Outcome::Info));
}

#[test]
fn messages_to_a_crashed_process_are_refused_by_its_host() {
    let mut v = client_server(100.0);
    v["faults"] = json!([{ "at": "1s", "action": "crash", "node": "s" }]);
    let mut sim = sim(v);
    sim.run_until(2 * SEC);
    let refused = sim
        .trace()
        .events()
        .iter()
        .filter(|e| matches!(e.what, What::Deliver { msg: engine::message::Message::RequestRefused { .. }, .. }))
        .count();
    assert!(refused >= 99, "{refused}");
}

#[test]
fn a_paused_server_still_passes_tcp_health_checks() {
    // The kernel completes a TCP connect for a stopped process, so a
    // connect-only check cannot see a hang: the server stays UP while its
    // requests wait.
    let mut sim = sim(lb_three(json!([{ "at": "5s", "action": "pause", "node": "s2" }])));
    sim.run_until(15 * SEC);
    let id = sim.node_id("s2").unwrap();
    let downs = sim.trace().events().iter().filter(|e| matches!(e.what, What::Note { note: engine::trace::Note::ServerDown { server, .. }, .. } if server == id)).count();
    assert_eq!(downs, 0);
    assert_eq!(sim.node_state(id).status, Status::Paused);
}

#[test]
fn timers_of_a_paused_node_wait_even_past_the_message_buffer() {
    let mut v = client_server(200.0);
    v["limits"] = json!({ "paused_backlog": 0 });
    v["faults"] = json!([
        { "at": "1s", "action": "pause", "node": "s" },
        { "at": "2s", "action": "resume", "node": "s" }
    ]);
    let mut sim = sim(v);
    sim.run_through(3 * SEC);
    // Messages to the paused server were dropped (buffer 0) ...
    let full = drops(&sim, DropReason::BufferFull).count();
    assert!(full >= 190, "{full}");
    // ... but the requests in service finished on resume: no worker is stuck.
    assert_eq!(sim.node_state(1).busy, 0);
    let after = sim.metrics().series().back().unwrap().counts.ok;
    assert!(after >= 190, "{after}");
}

#[test]
fn a_run_through_its_duration_includes_what_happens_at_the_end() {
    let mut v = client_server(100.0);
    v["faults"] = json!([{ "at": "3s", "action": "crash", "node": "s" }]);
    let mut sim = sim(v);
    sim.run_through(3 * SEC);
    assert_eq!(sim.now(), 3 * SEC);
    assert_eq!(sim.metrics().series().len(), 3);
    assert!(matches!(sim.node_state(1).status, Status::Crashed { .. }));
}

/// Drops for `reason` in the kept trace.
fn drops(sim: &engine::Simulation, reason: DropReason) -> impl Iterator<Item = &engine::trace::TraceEvent> {
    sim.trace().events().iter().filter(move |e| matches!(e.what, What::Drop { reason: r, .. } if r == reason))
}

/// Hold and release events in the kept trace, as (time, from, to, sent_at).
fn held(sim: &engine::Simulation) -> Vec<(u64, u32, u32, u64)> {
    sim.trace()
        .events()
        .iter()
        .filter_map(|e| match e.what {
            What::Hold { from, to, sent_at, .. } => Some((e.time, from, to, sent_at)),
            _ => None,
        })
        .collect()
}

fn hold_then_release(release: &str) -> serde_json::Value {
    let mut v = client_server(100.0);
    v["faults"] = json!([
        { "at": "1s", "action": "hold_link", "between": ["c", "s"] },
        { "at": release, "action": "release_link", "between": ["s", "c"] }
    ]);
    v
}

#[test]
fn a_held_link_loses_nothing_and_delivers_it_all_in_order_on_release() {
    let mut sim = sim(hold_then_release("1300ms"));
    sim.run_until(2 * SEC);
    let release = 1300 * MS;
    // Nothing crosses while the link is held, in either direction.
    assert_eq!(deliveries(&sim, "c", "s", SEC + MS, release), 0);
    assert_eq!(deliveries(&sim, "s", "c", SEC + MS, release), 0);
    // What reached the held link waited there: the 30 requests sent in
    // the hold and the answers on the wire when it began.
    let kept = held(&sim);
    let requests = kept.iter().filter(|h| h.1 == 0).count();
    assert_eq!(requests, 30, "{kept:?}");
    assert!(kept.iter().all(|h| h.0 > SEC && h.0 < release));
    // The release delivers every one of them at once, in the order they
    // arrived (each with the time it was sent).
    let at_release: Vec<(u32, u32, u64)> = sim
        .trace()
        .events()
        .iter()
        .filter(|e| e.time == release)
        .filter_map(|e| match e.what {
            What::Deliver { from, to, sent_at, .. } => Some((from, to, sent_at)),
            _ => None,
        })
        .collect();
    let expected: Vec<(u32, u32, u64)> = kept.iter().map(|h| (h.1, h.2, h.3)).collect();
    assert_eq!(at_release, expected);
    // The release says how many it let through, before they go (the
    // event log shows the line).
    let release_event = sim.trace().events().iter().find(|e| matches!(e.what, What::Release { .. })).unwrap();
    let first_delivery =
        sim.trace().events().iter().find(|e| e.time == release && matches!(e.what, What::Deliver { .. }));
    assert!(release_event.time == release && release_event.n < first_delivery.unwrap().n);
    assert!(matches!(release_event.what, What::Release { messages, .. } if messages as usize == kept.len()));
    assert_eq!(
        sim.trace_line(release_event).text,
        format!("released link s - c: the {} messages it held go on, in the order they reached it", kept.len())
    );
    // Nothing was lost: every request got its answer, the held ones late.
    let m = sim.metrics().summary(sim.now());
    assert_eq!((m.counts.timeouts, m.counts.errors), (0, 0), "{:?}", m.counts);
    let slowest = sim.history().ops().iter().filter_map(|o| Some(o.complete? - o.invoke)).max().unwrap();
    assert!(slowest >= 299 * MS, "{slowest}");
    // After the release the link works as before.
    assert!(deliveries(&sim, "c", "s", release + 10 * MS, 2 * SEC) >= 65);
}

#[test]
fn what_a_held_link_releases_meets_the_network_as_it_is_then() {
    // Cut while held: the release drops what it held, as a partition does.
    let mut v = hold_then_release("1200ms");
    v["faults"]
        .as_array_mut()
        .unwrap()
        .insert(1, json!({ "at": "1100ms", "action": "cut_link", "between": ["c", "s"] }));
    let mut cut = sim(v);
    cut.run_until(1300 * MS);
    let kept = held(&cut).len();
    let dropped_on_release = drops(&cut, DropReason::Partition).filter(|e| e.time == 1200 * MS).count();
    assert!(kept >= 10, "{kept}");
    assert_eq!(dropped_on_release, kept);

    // A bounded hold: past limits.held_backlog a message is dropped.
    let mut v = hold_then_release("1300ms");
    v["limits"] = json!({ "held_backlog": 5 });
    let mut sim = sim(v);
    sim.run_until(1300 * MS);
    let full = drops(&sim, DropReason::HoldFull).count();
    assert_eq!(held(&sim).len(), 5);
    assert!(full >= 25, "{full}");
}

#[test]
fn a_copy_taken_during_a_hold_goes_on_as_the_run_does() {
    let v = hold_then_release("1300ms");
    let mut straight = sim(v.clone());
    straight.run_until(2 * SEC);
    let mut first = sim(v);
    first.run_until(1150 * MS);
    let mut copy = first.clone();
    copy.run_until(2 * SEC);
    assert!(!held(&copy).is_empty());
    assert_eq!(copy.trace_hash(), straight.trace_hash());
}
