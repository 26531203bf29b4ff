//! A bounded queue that keeps the newest items: when full, the oldest item is dropped.
//!
//! Used where a producer must never block (a real-time capture, the host pushing frames, events
//! nobody reads): memory stays bounded and the consumer always gets the latest picture, so a
//! change followed by a still screen is never lost.

use std::sync::{Arc, Weak};
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver, SendTimeoutError, Sender, TrySendError};

/// How often a blocked [`LatestSender::send_blocking`] looks whether its consumer is gone.
const CONSUMER_CHECK: Duration = Duration::from_millis(50);

/// The sending side of a drop-oldest queue. Cloneable; the receiving side is a plain `Receiver`
/// ([`latest_queue`]) or a [`ConsumerReceiver`] ([`watched_latest_queue`]).
#[derive(Debug)]
pub(crate) struct LatestSender<T> {
    tx: Sender<T>,
    /// A receiver of our own, to pop the oldest item when the queue is full. It keeps the channel
    /// connected, so the consumer's departure is told by `consumer` instead.
    oldest: Receiver<T>,
    /// Alive while the [`ConsumerReceiver`] of a [`watched_latest_queue`] is; `None`: not watched.
    consumer: Option<Weak<()>>,
}

impl<T> Clone for LatestSender<T> {
    fn clone(&self) -> Self {
        LatestSender {
            tx: self.tx.clone(),
            oldest: self.oldest.clone(),
            consumer: self.consumer.clone(),
        }
    }
}

/// A queue holding at most `capacity` items. With `capacity` 0 it is a rendezvous: `send_blocking`
/// waits until the receiver takes the item, and `send` or `send_if_room` hand it over only to a
/// receiver already waiting (`send` then drops the item itself, and counts it).
pub(crate) fn latest_queue<T>(capacity: usize) -> (LatestSender<T>, Receiver<T>) {
    let (tx, rx) = bounded(capacity);
    let oldest = rx.clone();
    (
        LatestSender {
            tx,
            oldest,
            consumer: None,
        },
        rx,
    )
}

/// The receiving side of a [`watched_latest_queue`]: a `Receiver` (through `Deref`) whose drop
/// tells the senders that nobody will take their items any more.
#[derive(Debug)]
pub(crate) struct ConsumerReceiver<T> {
    rx: Receiver<T>,
    _alive: Arc<()>,
}

impl<T> std::ops::Deref for ConsumerReceiver<T> {
    type Target = Receiver<T>;
    fn deref(&self) -> &Receiver<T> {
        &self.rx
    }
}

/// A [`latest_queue`] whose senders see when its one consumer is dropped
/// ([`LatestSender::consumer_gone`]), so a blocked [`LatestSender::send_blocking`] gives up.
pub(crate) fn watched_latest_queue<T>(capacity: usize) -> (LatestSender<T>, ConsumerReceiver<T>) {
    let (mut tx, rx) = latest_queue(capacity);
    let alive = Arc::new(());
    tx.consumer = Some(Arc::downgrade(&alive));
    (tx, ConsumerReceiver { rx, _alive: alive })
}

impl<T> LatestSender<T> {
    /// Queues `item`, dropping older items while the queue is full. Returns how many were dropped.
    pub(crate) fn send(&self, mut item: T) -> usize {
        let mut dropped = 0;
        loop {
            match self.tx.try_send(item) {
                Ok(()) => return dropped,
                Err(TrySendError::Full(back)) => {
                    item = back;
                    if self.oldest.try_recv().is_ok() {
                        dropped += 1;
                    } else if self.tx.capacity() == Some(0) {
                        return dropped + 1; // no room, and no receiver waiting: this one goes
                    }
                }
                // Unreachable while we hold a receiver; nothing to deliver to anyway.
                Err(TrySendError::Disconnected(_)) => return dropped,
            }
        }
    }

    /// Queues `item` only if there is room, never displacing what waits: for news that matters
    /// less than anything already queued. Returns whether it was queued.
    pub(crate) fn send_if_room(&self, item: T) -> bool {
        self.tx.try_send(item).is_ok()
    }

    /// A blocking send for producers that must not lose anything (files, fast generators). While
    /// blocked, gives up (dropping the item) once a watched queue's consumer is gone; returns
    /// whether the item was queued.
    pub(crate) fn send_blocking(&self, mut item: T) -> bool {
        loop {
            match self.tx.send_timeout(item, CONSUMER_CHECK) {
                Ok(()) => return true,
                Err(SendTimeoutError::Timeout(back)) if !self.consumer_gone() => item = back,
                Err(_) => return false,
            }
        }
    }

    /// Whether a watched queue's consumer is gone (never, for a queue that is not watched).
    pub(crate) fn consumer_gone(&self) -> bool {
        self.consumer.as_ref().is_some_and(|alive| alive.strong_count() == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_items() {
        let (tx, rx) = latest_queue(2);
        assert_eq!(tx.send(1), 0);
        assert_eq!(tx.send(2), 0);
        assert_eq!(tx.send(3), 1);
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), vec![2, 3]);
    }

    #[test]
    fn without_room_an_item_goes_only_to_a_waiting_receiver() {
        let (tx, rx) = latest_queue(0);
        assert_eq!(tx.send(1), 1, "nobody waits: the item is dropped, not queued");
        assert!(!tx.send_if_room(2));
        let sender = std::thread::spawn(move || tx.send_blocking(3));
        assert_eq!(rx.recv(), Ok(3), "send_blocking waits for the receiver");
        sender.join().unwrap();
    }

    #[test]
    fn a_blocked_send_gives_up_once_the_consumer_is_gone() {
        for capacity in [0, 1] {
            let (tx, rx) = watched_latest_queue(capacity);
            if capacity == 1 {
                assert!(tx.send_blocking(1), "room for one");
            }
            assert!(!tx.consumer_gone());
            let sender = std::thread::spawn(move || (tx.send_blocking(2), tx.consumer_gone()));
            std::thread::sleep(CONSUMER_CHECK * 2);
            assert!(!sender.is_finished(), "blocked while the consumer lives");
            drop(rx);
            assert_eq!(sender.join().unwrap(), (false, true), "capacity {capacity}");
        }
    }

    #[test]
    fn send_if_room_never_displaces_what_waits() {
        let (tx, rx) = latest_queue(1);
        assert!(tx.send_if_room(1));
        assert!(!tx.send_if_room(2));
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), vec![1]);
    }
}
