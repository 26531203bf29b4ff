//! A bounded queue that keeps the newest items: when full, the oldest item is dropped.
//!
//! Used where a producer must never block (a real-time capture, the host pushing frames, events
//! nobody reads): memory stays bounded and the consumer always gets the latest picture, so a
//! change followed by a still screen is never lost.

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};

/// The sending side of a drop-oldest queue. Cloneable; the receiving side is a plain `Receiver`.
#[derive(Debug)]
pub(crate) struct LatestSender<T> {
    tx: Sender<T>,
    /// A receiver of our own, to pop the oldest item when the queue is full.
    oldest: Receiver<T>,
}

impl<T> Clone for LatestSender<T> {
    fn clone(&self) -> Self {
        LatestSender {
            tx: self.tx.clone(),
            oldest: self.oldest.clone(),
        }
    }
}

/// A queue holding at most `capacity` items. With `capacity` 0 it is a rendezvous: `send_blocking`
/// waits until the receiver takes the item, and `send` or `send_if_room` hand it over only to a
/// receiver already waiting (`send` then drops the item itself, and counts it).
pub(crate) fn latest_queue<T>(capacity: usize) -> (LatestSender<T>, Receiver<T>) {
    let (tx, rx) = bounded(capacity);
    (LatestSender { tx, oldest: rx.clone() }, rx)
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

    /// A blocking send for producers that must not lose anything (files, fast generators).
    pub(crate) fn send_blocking(&self, item: T) {
        let _ = self.tx.send(item);
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
    fn send_if_room_never_displaces_what_waits() {
        let (tx, rx) = latest_queue(1);
        assert!(tx.send_if_room(1));
        assert!(!tx.send_if_room(2));
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), vec![1]);
    }
}
