//! Bad input for the fake Azure DNS: a hundred thousand random and mutated packets over
//! UDP (truncated queries, wrong section counts, compression pointer loops, huge names,
//! random bytes, valid queries with random types, classes, opcodes and flags). Nothing
//! may panic, no answer may be SERVFAIL (a client's mistake is never a server failure),
//! each kind of packet gets the response code DNS prescribes, and afterwards the server
//! still answers a VNET's query with the private address.
//!
//! Traffic goes to 127.0.0.0/8 only. The seed is fixed and printed; set
//! `PULLSIM_FUZZ_SEED` to replay another.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket as StdUdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mock_azure::arm::{Arm, ArmConfig, ArmRequest};
use mock_azure::dns::{AzureDns, Role};
use mock_azure::identity::TokenSigner;
use mock_azure::model::Store;
use mock_azure::netplan::{AddressMap, Fabric, LoopbackMap, Modeled};
use serde_json::{Value, json};
use tokio::net::{TcpListener, UdpSocket};

const PACKETS: usize = 100_000;
/// Packets in flight at once: small enough for the kernel's default socket buffers.
const BATCH: usize = 100;
/// How long a batch waits for the answers it must get.
const BATCH_WAIT: Duration = Duration::from_millis(300);
const DEFAULT_SEED: u64 = 0x5EED_0003;

const NOERROR: u8 = 0;
const FORMERR: u8 = 1;
const SERVFAIL: u8 = 2;
const NXDOMAIN: u8 = 3;
const NOTIMP: u8 = 4;
const REFUSED: u8 = 5;

static PANICS: AtomicUsize = AtomicUsize::new(0);

/// xorshift64*: small, seedable, good enough to pick bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// What a packet may get back.
#[derive(Clone, Copy, Debug)]
struct Expect {
    kind: &'static str,
    /// Allowed response codes (low four bits of the header).
    rcodes: &'static [u8],
    /// Whether an answer must come (else it may, or for `silent` must not).
    must_reply: bool,
    /// No answer is allowed at all (responses and runts are dropped).
    silent: bool,
}

const ANY_BUT_SERVFAIL: &[u8] = &[NOERROR, FORMERR, NXDOMAIN, NOTIMP, REFUSED];

fn expect(kind: &'static str, rcodes: &'static [u8], must_reply: bool) -> Expect {
    Expect { kind, rcodes, must_reply, silent: false }
}

/// Encodes a name as labels (no compression).
fn name(labels: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in labels {
        out.push(l.len() as u8);
        out.extend_from_slice(l.as_bytes());
    }
    out.push(0);
    out
}

fn header(id: u16, flags: u16, counts: [u16; 4]) -> Vec<u8> {
    let mut h = id.to_be_bytes().to_vec();
    h.extend_from_slice(&flags.to_be_bytes());
    for c in counts {
        h.extend_from_slice(&c.to_be_bytes());
    }
    h
}

/// An OPT record (EDNS) with this payload size and version.
fn opt(payload: u16, version: u8) -> Vec<u8> {
    let mut o = vec![0u8]; // root name
    o.extend_from_slice(&41u16.to_be_bytes());
    o.extend_from_slice(&payload.to_be_bytes());
    o.extend_from_slice(&[0, version, 0, 0]); // extended rcode, version, flags
    o.extend_from_slice(&0u16.to_be_bytes());
    o
}

/// A well-formed query.
fn query(id: u16, flags: u16, qname: &[u8], qtype: u16, class: u16, edns: Option<(u16, u8)>) -> Vec<u8> {
    let mut p = header(id, flags, [1, 0, 0, u16::from(edns.is_some())]);
    p.extend_from_slice(qname);
    p.extend_from_slice(&qtype.to_be_bytes());
    p.extend_from_slice(&class.to_be_bytes());
    if let Some((payload, version)) = edns {
        p.extend(opt(payload, version));
    }
    p
}

const KNOWN: &[&[&str]] = &[
    &["pullsimacr", "azurecr", "io"],
    &["pullsimacr", "privatelink", "azurecr", "io"],
    &["pullsimacr", "westeurope", "data", "azurecr", "io"],
    &["nosuchacr", "azurecr", "io"],
    &["azurecr", "io"],
    &["x", "westeurope", "fe", "azcr", "io"],
    &["someapp", "azurewebsites", "net"],
    &["privatelink", "azurecr", "io"],
];

/// Random query flags: RD, AD, CD at random; QR 0, opcode 0.
fn query_flags(rng: &mut Rng) -> u16 {
    let mut f = 0u16;
    if rng.chance(70) {
        f |= 0x0100; // RD
    }
    if rng.chance(20) {
        f |= 0x0020; // AD
    }
    if rng.chance(20) {
        f |= 0x0010; // CD
    }
    f
}

/// A label of `min` to `min + spread - 1` random letters, digits and hyphens.
fn random_label(rng: &mut Rng, min: usize, spread: usize) -> String {
    let len = min + rng.below(spread);
    (0..len).map(|_| *rng.pick(b"abcdefghijklmnopqrstuvwxyz0123456789-") as char).collect()
}

/// One packet and what it may get back.
fn packet(rng: &mut Rng, id: u16) -> (Vec<u8>, Expect) {
    let labels = *rng.pick(KNOWN);
    let known = name(labels);
    match rng.below(12) {
        // A valid question about an Azure name, with a random type and flags.
        0 | 1 => {
            let qtype =
                if rng.chance(50) { *rng.pick(&[1u16, 5, 28, 16, 6, 255, 0, 65535]) } else { rng.next() as u16 };
            let edns = rng.chance(50).then(|| (rng.next() as u16, 0));
            let p = query(id, query_flags(rng), &known, qtype, 1, edns);
            let e = match qtype {
                41 | 249 | 250 => expect("record type as question", &[FORMERR], true),
                251 | 252 => expect("zone transfer", &[REFUSED], true),
                253 | 254 => expect("obsolete question type", &[NOTIMP], true),
                _ => expect("valid question", &[NOERROR, NXDOMAIN], true),
            };
            (p, e)
        }
        // A name outside Azure's namespaces.
        2 => {
            let labels = [random_label(rng, 1, 20), random_label(rng, 2, 5)];
            let qname = name(&labels.iter().map(String::as_str).collect::<Vec<_>>());
            (query(id, query_flags(rng), &qname, 1, 1, None), expect("outside Azure", &[REFUSED], true))
        }
        // A class other than IN.
        3 => {
            let class = loop {
                let c = if rng.chance(50) { *rng.pick(&[3u16, 4, 254, 255]) } else { rng.next() as u16 };
                if c != 1 {
                    break c;
                }
            };
            (query(id, query_flags(rng), &known, 1, class, None), expect("class other than IN", &[REFUSED], true))
        }
        // An opcode other than QUERY (unknown opcodes may not even parse).
        4 => {
            let opcode = 1 + rng.below(15) as u16;
            let p = query(id, query_flags(rng) | (opcode << 11), &known, 1, 1, None);
            (p, expect("opcode other than QUERY", &[NOTIMP, FORMERR], false))
        }
        // A response instead of a query: never answered (no reflection).
        5 => {
            let p = query(id, 0x8000 | query_flags(rng), &known, 1, 1, None);
            (p, Expect { kind: "response as query", rcodes: &[], must_reply: false, silent: true })
        }
        // A valid query cut short.
        6 => {
            let full = query(id, query_flags(rng), &known, 1, 1, rng.chance(50).then_some((1232, 0)));
            let len = rng.below(full.len());
            if len < 12 {
                let e = Expect { kind: "shorter than a header", rcodes: &[], must_reply: false, silent: true };
                (full[..len].to_vec(), e)
            } else {
                (full[..len].to_vec(), expect("truncated query", &[FORMERR], true))
            }
        }
        // Section counts that do not match the sections.
        7 => {
            let mut p = query(id, query_flags(rng), &known, 1, 1, None);
            let (at, value) = match rng.below(4) {
                0 => (4, 0u16),                         // no question
                1 => (4, 2 + rng.below(65534) as u16),  // more questions than present
                2 => (6, 1 + rng.below(65535) as u16),  // answers that are not there
                _ => (10, 1 + rng.below(65535) as u16), // additionals that are not there
            };
            p[at..at + 2].copy_from_slice(&value.to_be_bytes());
            (p, expect("wrong section count", &[FORMERR], true))
        }
        // Compression pointers that loop or point nowhere.
        8 => {
            let mut p = header(id, query_flags(rng), [1, 0, 0, 0]);
            match rng.below(3) {
                0 => p.extend_from_slice(&[0xC0, 12]),           // points at itself
                1 => p.extend_from_slice(&[0xC0, 14, 0xC0, 12]), // two pointers in a ring
                _ => p.extend_from_slice(&[0xC0 | (rng.byte() & 0x3F), rng.byte().max(200)]), // past the end
            }
            p.extend_from_slice(&[0, 1, 0, 1]);
            (p, expect("compression pointer loop", &[FORMERR], true))
        }
        // Huge names: labels over 63 bytes, names over 255.
        9 => {
            let mut qname = Vec::new();
            let too_long_label = rng.chance(50);
            if too_long_label {
                let len = 64 + rng.below(192);
                qname.push(len as u8);
                qname.extend(std::iter::repeat_n(b'a', len));
            } else {
                for _ in 0..(5 + rng.below(60)) {
                    qname.push(63);
                    qname.extend(std::iter::repeat_n(b'b', 63));
                }
            }
            qname.extend(name(&["azurecr", "io"]));
            let p = query(id, query_flags(rng), &qname, 1, 1, None);
            (p, expect("huge name", &[FORMERR], true))
        }
        // Random bytes (the ID kept so an answer can be matched).
        10 => {
            let len = rng.below(513);
            let mut p: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
            if p.len() >= 2 {
                p[..2].copy_from_slice(&id.to_be_bytes());
            }
            (p, expect("random bytes", ANY_BUT_SERVFAIL, false))
        }
        // A valid query with a few bytes flipped, or EDNS with a random version.
        _ => {
            if rng.chance(30) {
                let version = rng.byte();
                let p = query(id, query_flags(rng), &known, 1, 1, Some((1232, version)));
                // BADVERS is 16: low four bits 0, the rest in the OPT record.
                return (p, expect("EDNS version", &[NOERROR, NXDOMAIN], true));
            }
            let mut p = query(id, query_flags(rng), &known, 1, 1, rng.chance(50).then_some((4096, 0)));
            for _ in 0..(1 + rng.below(4)) {
                let at = 2 + rng.below(p.len() - 2);
                p[at] ^= 1 << rng.below(8);
            }
            (p, expect("mutated query", ANY_BUT_SERVFAIL, false))
        }
    }
}

/// What came back so far, checked against what each packet may get.
struct Tally {
    expected: Vec<Option<Expect>>,
    answered: Vec<bool>,
    must: usize,
    got_must: usize,
    replies: usize,
    by_rcode: [usize; 16],
}

impl Default for Tally {
    fn default() -> Tally {
        Tally {
            expected: vec![None; 65536],
            answered: vec![false; 65536],
            must: 0,
            got_must: 0,
            replies: 0,
            by_rcode: [0; 16],
        }
    }
}

impl Tally {
    fn check(&mut self, reply: &[u8], seed: u64) {
        assert!(reply.len() >= 12, "a reply shorter than a header: {reply:?}");
        let id = u16::from_be_bytes([reply[0], reply[1]]);
        let rcode = reply[3] & 0x0F;
        let e = self.expected[usize::from(id)].unwrap_or_else(|| panic!("reply to nothing sent: id {id}"));
        assert!(reply[2] & 0x80 != 0, "{}: reply without QR", e.kind);
        assert!(!e.silent, "{}: must not be answered, got rcode {rcode}", e.kind);
        assert_ne!(rcode, SERVFAIL, "{}: SERVFAIL for a client's packet (seed {seed}, id {id})", e.kind);
        assert!(e.rcodes.contains(&rcode), "{}: rcode {rcode}, expected one of {:?} (seed {seed})", e.kind, e.rcodes);
        if !self.answered[usize::from(id)] && e.must_reply {
            self.got_must += 1;
        }
        self.answered[usize::from(id)] = true;
        self.replies += 1;
        self.by_rcode[usize::from(rcode)] += 1;
    }
}

/// Skips a (possibly compressed) name; `None` past the end.
fn skip_name(msg: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = *msg.get(at)?;
        if len == 0 {
            return Some(at + 1);
        }
        if len & 0xC0 == 0xC0 {
            return Some(at + 2);
        }
        at += 1 + usize::from(len);
    }
}

/// The A records of a response's answer section, and the OPT extended rcode if any.
fn parse_answer(msg: &[u8]) -> Option<(Vec<Ipv4Addr>, Option<u8>)> {
    let count = |i: usize| Some(u16::from_be_bytes([*msg.get(i)?, *msg.get(i + 1)?]));
    let (qd, an, ns, ar) = (count(4)?, count(6)?, count(8)?, count(10)?);
    let mut at = 12;
    for _ in 0..qd {
        at = skip_name(msg, at)? + 4;
    }
    let mut addrs = Vec::new();
    let mut ext = None;
    for i in 0..(an + ns + ar) {
        at = skip_name(msg, at)?;
        let rtype = count(at)?;
        let rdlen = usize::from(count(at + 8)?);
        let rdata = msg.get(at + 10..at + 10 + rdlen)?;
        if i < an && rtype == 1 && rdlen == 4 {
            addrs.push(Ipv4Addr::new(rdata[0], rdata[1], rdata[2], rdata[3]));
        }
        if rtype == 41 {
            ext = Some(*msg.get(at + 4)?);
        }
        at += 10 + rdlen;
    }
    Some((addrs, ext))
}

/// The July 2021 topology built through ARM over `store`; returns the VNET's ID.
fn topology(store: &Store) -> String {
    let signer = Arc::new(TokenSigner::generate().unwrap());
    let cfg = ArmConfig::new("https://127.0.0.1:1");

    let bearer = format!("Bearer {}", cfg.client_token(&signer, 3600));
    let rg = format!("/subscriptions/{}/resourceGroups/rg", cfg.subscription_id);
    let arm = Arm::new(store.clone(), signer, cfg);
    let net = format!("{rg}/providers/Microsoft.Network");
    let vnet = format!("{net}/virtualNetworks/vnet");
    let registry = format!("{rg}/providers/Microsoft.ContainerRegistry/registries/pullsimacr");
    let pe = format!("{net}/privateEndpoints/acr-pe");
    let zone = format!("{net}/privateDnsZones/privatelink.azurecr.io");
    let calls: Vec<(String, &str, Value)> = vec![
        (rg.clone(), "2024-11-01", json!({"location": "westeurope"})),
        (
            vnet.clone(),
            "2024-05-01",
            json!({"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
                "subnets": [{"name": "pe", "properties": {"addressPrefix": "10.0.2.0/24"}}]}}),
        ),
        (registry.clone(), "2023-07-01", json!({"location": "westeurope", "sku": {"name": "Premium"}})),
        (
            pe.clone(),
            "2024-05-01",
            json!({"location": "westeurope", "properties": {"subnet": {"id": format!("{vnet}/subnets/pe")},
                "privateLinkServiceConnections": [{"name": "acr", "properties": {"privateLinkServiceId": registry, "groupIds": ["registry"]}}]}}),
        ),
        (zone.clone(), "2024-06-01", json!({"location": "global"})),
        (
            format!("{pe}/privateDnsZoneGroups/default"),
            "2024-05-01",
            json!({"properties": {"privateDnsZoneConfigs": [{"name": "acr", "properties": {"privateDnsZoneId": zone}}]}}),
        ),
        (
            format!("{zone}/virtualNetworkLinks/acrlink"),
            "2024-06-01",
            json!({"location": "global", "properties": {"virtualNetwork": {"id": vnet}, "registrationEnabled": false}}),
        ),
    ];
    for (id, api, body) in calls {
        let r = arm.handle(
            &ArmRequest::new("PUT", &format!("{id}?api-version={api}")).header("authorization", &bearer).json(&body),
        );
        assert_eq!(r.status, 201, "PUT {id}: {}", String::from_utf8_lossy(&r.body));
    }
    vnet
}

/// Binds Azure DNS on `127.B.0.1` for a block `B` no other process holds.
async fn bind(seed: u32) -> (u8, u16, UdpSocket, TcpListener) {
    for n in 0..254u32 {
        let block = u8::try_from(seed.wrapping_add(n.wrapping_mul(37)) % 254 + 1).unwrap();
        let ip = IpAddr::from([127, block, 0, 1]);
        let udp = match UdpSocket::bind((ip, 53)).await {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => match UdpSocket::bind((ip, 0)).await {
                Ok(s) => s,
                Err(_) => continue,
            },
            Err(_) => continue,
        };
        let port = udp.local_addr().unwrap().port();
        if let Ok(tcp) = TcpListener::bind((ip, port)).await {
            return (block, port, udp, tcp);
        }
    }
    panic!("no free loopback block for Azure DNS");
}

#[test]
fn a_hundred_thousand_bad_packets_get_no_servfail_and_the_server_keeps_answering() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        default_hook(info);
    }));
    let seed = std::env::var("PULLSIM_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_SEED);
    println!("dns fuzz seed: {seed} (set PULLSIM_FUZZ_SEED to replay)");

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (block, port, udp, tcp) = rt.block_on(bind(std::process::id().wrapping_mul(7919).wrapping_add(101)));
    let map = Arc::new(LoopbackMap::new(block));
    let store = Store::in_memory();
    let vnet = topology(&store);
    let dns = Arc::new(AzureDns::new(store, Fabric { map: map.clone(), dns_port: port, https_port: 443 }));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = rt.spawn(mock_azure::dns::serve(vec![(Role::AzureDns, udp, tcp)], dns.clone(), async {
        let _ = stopped.await;
    }));
    let server_addr = SocketAddr::new(map.real(&Modeled::azure_dns()), port);

    let from_vnet = Modeled::private(&vnet, Ipv4Addr::new(10, 0, 1, 4));
    let sources = [from_vnet.clone(), Modeled::public(Ipv4Addr::new(20, 50, 0, 9))];
    let sockets: Vec<StdUdpSocket> = sources
        .iter()
        .map(|m| {
            let s = StdUdpSocket::bind(SocketAddr::new(map.real(m), 0)).unwrap();
            s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
            s
        })
        .collect();

    let started = Instant::now();
    let mut rng = Rng(seed.max(1));
    let mut tally = Tally::default();
    let mut buf = [0u8; 65536];
    for batch in 0..PACKETS / BATCH {
        // One source per batch, so a blocking receive wakes up on each answer.
        let socket = &sockets[batch % sockets.len()];
        let mut waiting = Vec::new();
        for i in 0..BATCH {
            let id = ((batch * BATCH + i) % 65536) as u16;
            let (p, e) = packet(&mut rng, id);
            tally.expected[usize::from(id)] = Some(e);
            tally.answered[usize::from(id)] = false;
            if e.must_reply {
                waiting.push(id);
            }
            socket.send_to(&p, server_addr).unwrap();
        }
        tally.must += waiting.len();
        let deadline = Instant::now() + BATCH_WAIT;
        while Instant::now() < deadline && !waiting.iter().all(|id| tally.answered[usize::from(*id)]) {
            if let Ok(n) = socket.recv(&mut buf) {
                tally.check(&buf[..n], seed);
            }
        }
    }
    // Late answers to packets that need none are checked too.
    let drain_until = Instant::now() + BATCH_WAIT;
    while Instant::now() < drain_until {
        for s in &sockets {
            while let Ok(n) = s.recv(&mut buf) {
                tally.check(&buf[..n], seed);
            }
        }
    }
    let Tally { must, got_must, replies, by_rcode, .. } = tally;
    let elapsed = started.elapsed();
    println!("{PACKETS} packets in {elapsed:?}: {replies} replies, rcodes {by_rcode:?}, {got_must}/{must} required");
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "something panicked (see stderr)");
    assert!(!server.is_finished(), "the server task is still running");
    // UDP may drop under load; the server must not.
    assert!(got_must * 100 >= must * 99, "only {got_must} of {must} required answers came back");
    assert!(by_rcode[usize::from(FORMERR)] > 10_000 && by_rcode[usize::from(REFUSED)] > 5_000, "{by_rcode:?}");

    // Afterwards a VNET's question still gets the private address.
    let s = &sockets[0];
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let q = query(0xBEEF, 0x0100, &name(&["pullsimacr", "azurecr", "io"]), 1, 1, Some((1232, 0)));
    s.send_to(&q, server_addr).unwrap();
    let answer = loop {
        let n = s.recv(&mut buf).expect("an answer to the final query within 3 s");
        if n >= 2 && buf[..2] == [0xBE, 0xEF] {
            break buf[..n].to_vec();
        }
    };
    assert_eq!(answer[3] & 0x0F, NOERROR);
    let (addrs, _) = parse_answer(&answer).expect("a well-formed answer");
    assert_eq!(addrs, [Ipv4Addr::new(10, 0, 2, 4)]);
    let q = query(0xBEF0, 0x0100, &name(&["pullsimacr", "azurecr", "io"]), 1, 1, Some((1232, 3)));
    s.send_to(&q, server_addr).unwrap();
    let answer = loop {
        let n = s.recv(&mut buf).expect("an answer to the EDNS version 3 query within 3 s");
        if n >= 2 && buf[..2] == [0xBE, 0xF0] {
            break buf[..n].to_vec();
        }
    };
    assert_eq!(parse_answer(&answer).unwrap().1, Some(1), "BADVERS (16): extended rcode 1 in the OPT record");
    assert!(dns.query_log().len() <= mock_azure::dns::log::DEFAULT_CAPACITY, "the log stays bounded");

    let _ = stop.send(());
    let stopped = rt.block_on(async { tokio::time::timeout(Duration::from_secs(10), server).await });
    assert!(matches!(stopped, Ok(Ok(Ok(())))), "the server stops cleanly: {stopped:?}");
    assert!(elapsed < Duration::from_secs(60), "the barrage took {elapsed:?}");
}
