//! The components a scenario is built from. Each is a pure state machine
//! (see [`crate::node::Process`]); this enum dispatches to them, so a whole
//! simulation stays plain data that can be cloned.

pub mod cache;
pub mod client;
pub mod database;
pub mod kafka;
pub mod load_balancer;
pub mod raft_kv;
pub mod raft_member;
pub mod sentinel;
pub mod server;
pub mod workers;

use crate::context::Ctx;
use crate::message::{Message, NodeId, Timer};
use crate::node::Process;
use crate::queue::TimerId;
use crate::time::Time;
use cache::Cache;
use client::Client;
use database::Database;
use kafka::{broker::KafkaBroker, consumer::KafkaConsumer, controller::KafkaController, producer::KafkaProducer};
use load_balancer::LoadBalancer;
use raft_kv::RaftKv;
use sentinel::Sentinel;
use serde::Serialize;
use server::Server;

// Nodes live in one vector and are never moved one by one, so the size
// difference between variants costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Component {
    Cache(Cache),
    Client(Client),
    Database(Database),
    LoadBalancer(LoadBalancer),
    Server(Server),
    Sentinel(Sentinel),
    RaftKv(RaftKv),
    KafkaController(KafkaController),
    KafkaBroker(KafkaBroker),
    KafkaProducer(KafkaProducer),
    KafkaConsumer(KafkaConsumer),
}

/// The kinds of component, as named in scenario files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Cache,
    Client,
    Database,
    LoadBalancer,
    Server,
    Sentinel,
    RaftKv,
    KafkaController,
    KafkaBroker,
    KafkaProducer,
    KafkaConsumer,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Cache => "cache",
            Kind::Client => "client",
            Kind::Database => "database",
            Kind::LoadBalancer => "load_balancer",
            Kind::Server => "server",
            Kind::Sentinel => "sentinel",
            Kind::RaftKv => "raft_kv",
            Kind::KafkaController => "kafka_controller",
            Kind::KafkaBroker => "kafka_broker",
            Kind::KafkaProducer => "kafka_producer",
            Kind::KafkaConsumer => "kafka_consumer",
        }
    }
}

impl Component {
    pub fn kind(&self) -> Kind {
        match self {
            Component::Cache(_) => Kind::Cache,
            Component::Client(_) => Kind::Client,
            Component::Database(_) => Kind::Database,
            Component::LoadBalancer(_) => Kind::LoadBalancer,
            Component::Server(_) => Kind::Server,
            Component::Sentinel(_) => Kind::Sentinel,
            Component::RaftKv(_) => Kind::RaftKv,
            Component::KafkaController(_) => Kind::KafkaController,
            Component::KafkaBroker(_) => Kind::KafkaBroker,
            Component::KafkaProducer(_) => Kind::KafkaProducer,
            Component::KafkaConsumer(_) => Kind::KafkaConsumer,
        }
    }

    fn process(&mut self) -> &mut dyn Process {
        match self {
            Component::Cache(c) => c,
            Component::Client(c) => c,
            Component::Database(c) => c,
            Component::LoadBalancer(c) => c,
            Component::Server(c) => c,
            Component::Sentinel(c) => c,
            Component::RaftKv(c) => c,
            Component::KafkaController(c) => c,
            Component::KafkaBroker(c) => c,
            Component::KafkaProducer(c) => c,
            Component::KafkaConsumer(c) => c,
        }
    }

    /// Whether the component holds long-lived connections whose reset it
    /// must hear about when the process at the other end dies (Kafka's
    /// protocol; the others notice by their own timeouts).
    pub(crate) fn keeps_connections(&self) -> bool {
        matches!(
            self,
            Component::KafkaBroker(_)
                | Component::KafkaController(_)
                | Component::KafkaProducer(_)
                | Component::KafkaConsumer(_)
        )
    }

    pub(crate) fn on_start(&mut self, ctx: &mut Ctx) {
        self.process().on_start(ctx)
    }
    pub(crate) fn on_message(&mut self, ctx: &mut Ctx, from: NodeId, msg: Message) {
        self.process().on_message(ctx, from, msg)
    }
    pub(crate) fn on_timer(&mut self, ctx: &mut Ctx, id: TimerId, timer: Timer) {
        self.process().on_timer(ctx, id, timer)
    }
    pub(crate) fn on_crash(&mut self) {
        self.process().on_crash()
    }
    pub(crate) fn closed_by_crash(&mut self) -> Vec<(NodeId, Message)> {
        self.process().closed_by_crash()
    }
    pub(crate) fn on_power_loss(&mut self, monotonic: Time) {
        self.process().on_power_loss(monotonic)
    }
}
