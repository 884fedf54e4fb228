//! A pool of workers in front of a bounded queue: how a server process
//! handles requests (threads or processes; one request per worker at a
//! time). Shared by the components that do work per request.

use std::collections::VecDeque;

#[derive(Clone, Debug)]
pub struct WorkerPool<J> {
    /// What each worker is doing.
    busy: Vec<Option<J>>,
    /// Idle workers; the lowest-numbered is taken first.
    idle: Vec<u32>,
    queue: VecDeque<J>,
    queue_limit: usize,
}

/// What became of a submitted job.
#[derive(Debug, PartialEq, Eq)]
pub enum Submitted<J> {
    /// A worker took it: start its service time.
    Started(u32),
    Queued,
    /// The queue is full: refuse it.
    Refused(J),
}

impl<J> WorkerPool<J> {
    pub fn new(workers: u32, queue_limit: usize) -> WorkerPool<J> {
        WorkerPool {
            busy: (0..workers).map(|_| None).collect(),
            idle: (0..workers).rev().collect(),
            queue: VecDeque::new(),
            queue_limit,
        }
    }

    pub fn submit(&mut self, job: J) -> Submitted<J> {
        if let Some(w) = self.idle.pop() {
            self.busy[w as usize] = Some(job);
            Submitted::Started(w)
        } else if self.queue.len() < self.queue_limit {
            self.queue.push_back(job);
            Submitted::Queued
        } else {
            Submitted::Refused(job)
        }
    }

    /// Worker `w` finished: returns its job, and whether it took the next
    /// one from the queue (then start that one's service time).
    pub fn finish(&mut self, w: u32) -> (J, bool) {
        let job = self.busy[w as usize].take().expect("a busy worker finished");
        match self.queue.pop_front() {
            Some(next) => {
                self.busy[w as usize] = Some(next);
                (job, true)
            }
            None => {
                self.idle.push(w);
                (job, false)
            }
        }
    }

    /// The job worker `w` is doing.
    pub fn job(&self, w: u32) -> Option<&J> {
        self.busy.get(w as usize).and_then(|j| j.as_ref())
    }

    pub fn job_mut(&mut self, w: u32) -> Option<&mut J> {
        self.busy.get_mut(w as usize).and_then(|j| j.as_mut())
    }

    /// Every job taken: those being worked on, then those queued.
    pub fn jobs(&self) -> impl Iterator<Item = &J> {
        self.busy.iter().flatten().chain(&self.queue)
    }

    pub fn workers(&self) -> u32 {
        self.busy.len() as u32
    }

    pub fn busy(&self) -> u32 {
        (self.busy.len() - self.idle.len()) as u32
    }

    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Takes the first queued job (not one being worked on) that `which`
    /// picks out of the queue.
    pub fn withdraw(&mut self, which: impl Fn(&J) -> bool) -> Option<J> {
        let at = self.queue.iter().position(which)?;
        self.queue.remove(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_queues_refuses_and_hands_over() {
        let mut p = WorkerPool::new(2, 1);
        assert_eq!(p.submit('a'), Submitted::Started(0));
        assert_eq!(p.submit('b'), Submitted::Started(1));
        assert_eq!(p.submit('c'), Submitted::Queued);
        assert_eq!(p.submit('d'), Submitted::Refused('d'));
        assert_eq!((p.busy(), p.queued()), (2, 1));
        assert_eq!(p.jobs().collect::<String>(), "abc");
        assert_eq!(p.finish(0), ('a', true));
        assert_eq!(p.job(0), Some(&'c'));
        assert_eq!(p.finish(1), ('b', false));
        assert_eq!(p.finish(0), ('c', false));
        assert_eq!(p.busy(), 0);
        assert_eq!(p.submit('e'), Submitted::Started(0));
    }

    #[test]
    fn only_queued_jobs_are_withdrawn() {
        let mut p = WorkerPool::new(1, 3);
        for j in ['a', 'b', 'c', 'b'] {
            p.submit(j);
        }
        assert_eq!(p.withdraw(|&j| j == 'a'), None, "a worker has it");
        assert_eq!(p.withdraw(|&j| j == 'b'), Some('b'));
        assert_eq!(p.jobs().collect::<String>(), "acb");
        assert_eq!(p.finish(0), ('a', true));
        assert_eq!(p.job(0), Some(&'c'));
    }
}
