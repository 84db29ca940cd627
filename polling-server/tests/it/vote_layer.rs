//! An embedding application's own layer on the vote path
//! (`AppBuilder::vote_layer`), over real HTTP: it sees every ballot the
//! server casts and no other request, its refusal is the vote's answer
//! (status and code) with nothing stored, and layers given later wrap the
//! earlier ones.

use std::sync::{Arc, Mutex};

use polling_core::{Ballot, OptionId, PollError};
use polling_server::{App, VotePath};
use tower::ServiceExt;

use crate::common::{create_poll, draft, id_of, results_of, TestServer};

/// A layer that writes `name` to `log` for each ballot, then refuses those
/// for option `refused` (as a policy of the application would) or passes
/// them on.
fn gate(
    name: &'static str,
    refused: u32,
    log: &Arc<Mutex<Vec<String>>>,
) -> impl tower::Layer<VotePath, Service = VotePath> + Send + Sync + 'static {
    let log = Arc::clone(log);
    tower::layer::layer_fn(move |inner: VotePath| {
        let log = Arc::clone(&log);
        VotePath::new(tower::service_fn(move |ballot: Ballot| {
            let (log, inner) = (Arc::clone(&log), inner.clone());
            async move {
                log.lock().unwrap().push(name.to_owned());
                if ballot.marks().options().contains(&OptionId::new(refused)) {
                    return Err(PollError::InvalidChoice(format!(
                        "{name} takes no ballot for option {refused}"
                    )));
                }
                inner.oneshot(ballot).await
            }
        }))
    })
}

#[tokio::test]
async fn an_applications_layer_sees_every_ballot_and_its_refusal_is_the_answer() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let app = App::builder()
        .vote_layer(gate("inner", 2, &log))
        .vote_layer(gate("outer", 1, &log))
        .build();
    let server = TestServer::with_app(app).await;
    let owner = server.client();
    let (poll, _) = create_poll(&owner, draft(&["a", "b", "c"])).await;
    let id = id_of(&poll);
    assert!(
        log.lock().unwrap().is_empty(),
        "creating a poll casts no ballot"
    );

    server.client().vote(&id, &[0]).await.assert_json(201);
    assert_eq!(
        *log.lock().unwrap(),
        ["outer", "inner"],
        "the later layer is outside"
    );

    let refused = server.client().vote(&id, &[1]).await;
    let error = refused.assert_error(422, "invalid_choice");
    assert_eq!(
        error["error"]["message"],
        "outer takes no ballot for option 1"
    );
    server
        .client()
        .vote(&id, &[2])
        .await
        .assert_error(422, "invalid_choice");

    let results = results_of(&owner, &id).await;
    assert_eq!(
        results["total"], 1,
        "refused ballots are not stored: {results}"
    );
    assert_eq!(results["version"], 1);
    assert_eq!(
        *log.lock().unwrap(),
        ["outer", "inner", "outer", "outer", "inner"],
        "one entry per layer a ballot reached; reads pass no layer"
    );
}
