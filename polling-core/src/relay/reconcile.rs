//! [`Reconcile`]: the command that makes a listener's subscription of a
//! poll's channel match the poll's local subscribers.

use tokio::sync::oneshot;

use crate::domain::PollId;

/// Asks the listener to make a poll's remote subscription match its local
/// subscribers: listen to its channel if it has some, stop if not.
///
/// A broadcaster sends one when a poll gains a subscriber (with an
/// acknowledgement the subscriber waits for, so that events published after
/// `subscribe` returns are received) and when it loses its last one. The
/// listener compares the poll's [`Subscriptions`](super::Subscriptions) with
/// what its connection listens to, so commands that cross (a subscriber
/// leaving while another arrives) still end in the right state.
///
/// # Example
///
/// ```
/// use polling_core::relay::Reconcile;
/// use polling_core::PollId;
///
/// let poll = PollId::generate();
/// let (command, mut acknowledged) = Reconcile::subscribed(poll);
/// assert_eq!(command.poll(), poll);
/// let (_, ack) = command.into_parts();
/// ack.expect("a subscriber waits").send(()).unwrap();
/// assert_eq!(acknowledged.try_recv(), Ok(()));
///
/// assert!(Reconcile::unsubscribed(poll).into_parts().1.is_none());
/// ```
#[derive(Debug)]
pub struct Reconcile {
    /// The poll whose subscribers changed.
    poll: PollId,
    /// Answered when a new subscriber may return: the channel is listened
    /// to, or the connection is down (and a `Resync` will follow).
    ack: Option<oneshot::Sender<()>>,
}

impl Reconcile {
    /// For a new subscriber of `poll`, with the receiver of its acknowledgement.
    pub fn subscribed(poll: PollId) -> (Self, oneshot::Receiver<()>) {
        let (ack, acknowledged) = oneshot::channel();
        let command = Self {
            poll,
            ack: Some(ack),
        };
        (command, acknowledged)
    }

    /// For the poll whose last subscriber left.
    pub fn unsubscribed(poll: PollId) -> Self {
        Self { poll, ack: None }
    }

    /// The poll whose subscribers changed.
    pub fn poll(&self) -> PollId {
        self.poll
    }

    /// The poll, and the acknowledgement a new subscriber waits for (`None`
    /// when the last subscriber left).
    pub fn into_parts(self) -> (PollId, Option<oneshot::Sender<()>>) {
        (self.poll, self.ack)
    }
}
