//! The command store shares its SQLite file with other writers (the API's audit log, the
//! MDMS event store and other command stores all use the demo database). Every state
//! change must still land: a transition reads the current state before it writes, and a
//! deferred transaction that upgrades from read to write while another connection commits
//! fails at once with "database is locked" (SQLITE_BUSY_SNAPSHOT in WAL mode, not retried
//! by the busy timeout). The store takes the write lock first, so the busy timeout applies.

use hes::commands::{CommandKind, CommandState, CommandStore};

#[test]
fn concurrent_writers_on_one_file_lose_no_state_change() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    // Created once so the threads do not race on the schema.
    drop(CommandStore::open(&path).unwrap());
    const THREADS: usize = 4;
    const COMMANDS: usize = 60;
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(THREADS));
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let path = path.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let store = CommandStore::open(&path).unwrap();
                barrier.wait();
                let mut errors = Vec::new();
                let mut ids = Vec::new();
                for i in 0..COMMANDS {
                    let meter = format!("GE{t:04}{i:04}");
                    let id = match store.enqueue(&meter, CommandKind::Disconnect, &serde_json::Value::Null, "op") {
                        Ok(id) => id,
                        Err(e) => {
                            errors.push(format!("enqueue: {e}"));
                            continue;
                        }
                    };
                    for state in [CommandState::Sent, CommandState::Confirmed] {
                        if let Err(e) = store.transition(id, &state, &serde_json::json!({"i": i})) {
                            errors.push(format!("{} of {id}: {e}", state.name()));
                        }
                    }
                    ids.push(id);
                }
                (ids, errors)
            })
        })
        .collect();
    let mut all = Vec::new();
    for w in workers {
        let (ids, errors) = w.join().unwrap();
        assert!(errors.is_empty(), "{} failed writes, first: {}", errors.len(), errors[0]);
        all.extend(ids);
    }
    assert_eq!(all.len(), THREADS * COMMANDS);
    let store = CommandStore::open(&path).unwrap();
    for id in all {
        let record = store.get(id).unwrap().unwrap();
        assert_eq!(record.state, CommandState::Confirmed, "command {id}");
        let events: Vec<String> = store.audit(id).unwrap().into_iter().map(|a| a.event).collect();
        assert_eq!(events, ["queued", "sent", "confirmed"], "command {id}");
    }
}
