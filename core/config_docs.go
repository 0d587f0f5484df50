package core

// configDocs is each broker property's and topic config's documentation
// (DescribeConfigs v3+), in Kafka's meaning, with what differs here.
var configDocs = map[string]string{
	// The admin listener: metrics, health and the web console.
	"admin.listener":                "Where the HTTP admin listener serves /metrics, /healthz, /readyz and the web console: [http://|https://]host:port, empty to disable it. https:// serves TLS with the listener.name.admin.ssl.* settings, else the broker's ssl.* ones. Specific to Cloud Kafka.",
	"buffer.pool.max.bytes":         "The request frames, response frames and fetch read buffers kept idle for reuse, in bytes, at most (64 MiB by default; 0: none kept, every buffer is allocated afresh). Reuse spares the allocator zeroing and faulting in fresh memory for every large request and response. Specific to Cloud Kafka.",
	"admin.pprof.enable":            "Serve Go's runtime profiles (CPU, heap, goroutines) under /debug/pprof/ on the admin listener, for profiling the broker; off by default. Specific to Cloud Kafka.",
	"admin.console.enable":          "Serve the web console on the admin listener. Specific to Cloud Kafka.",
	"admin.console.listener":        "The broker listener the web console's clients connect to, as the operators who logged in: empty picks the first SASL listener, else the first listener. Specific to Cloud Kafka.",
	"admin.console.sessions.max":    "The most web console sessions at once; a new one ends the least recently used. Specific to Cloud Kafka.",
	"admin.console.session.idle.ms": "How long a web console session may go unused before it ends, in ms. Specific to Cloud Kafka.",
	"metrics.topics.max":            "The most topics with metric series of their own; the rest are summed under the label __other. Specific to Cloud Kafka.",
	"metrics.groups.max":            "The most consumer groups with metric series of their own; the rest are summed under the label __other. Specific to Cloud Kafka.",
	// Broker identity and listeners.
	"broker.id":                      "The broker's id, unique in the cluster. A generated id (-1) is not supported here: set it explicitly.",
	"broker.id.generation.enable":    "When true, broker.id may range from -1 up to reserved.broker.max.id; when false it must be 0 or more. Ids are never generated here, so -1 is refused either way.",
	"reserved.broker.max.id":         "The largest broker.id accepted while broker.id.generation.enable is true.",
	"listeners":                      "Comma-separated listener URIs (NAME://host:port) the broker accepts connections on; an empty host binds every interface.",
	"advertised.listeners":           "The listener endpoints the broker publishes to clients in Metadata, when they differ from listeners; empty means the listeners themselves.",
	"listener.security.protocol.map": "Maps each listener name to its security protocol (PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL), as NAME:PROTOCOL pairs separated by commas.",
	"inter.broker.listener.name":     "The listener brokers use to reach one another; set either this or security.inter.broker.protocol, not both.",
	"security.inter.broker.protocol": "The security protocol brokers use to reach one another, when inter.broker.listener.name is not set.",

	// Log storage and topic defaults.
	"log.dirs":                                      "The directory holding the broker's log data. Exactly one directory is supported here (Kafka takes a comma-separated list).",
	"num.partitions":                                "The number of partitions an automatically created topic, or one created without a partition count, gets.",
	"default.replication.factor":                    "The replication factor a topic created without one gets (automatic creation included); it must be at least 1.",
	"auto.create.topics.enable":                     "Whether a topic a client asks metadata for is created automatically when it does not exist.",
	"log.segment.bytes":                             "The largest size in bytes of one log segment file before a new segment is rolled (default for segment.bytes).",
	"log.roll.ms":                                   "The longest time in ms before a new log segment is rolled, even if the active one is not full (default for segment.ms); takes precedence over log.roll.hours.",
	"log.roll.hours":                                "The longest time in hours before a new log segment is rolled; overridden by log.roll.ms when that is set.",
	"log.retention.ms":                              "How long in ms a log segment is kept before deletion (default for retention.ms); -1 (any negative value) keeps data forever, and 0 is refused. Takes precedence over log.retention.minutes and log.retention.hours.",
	"log.retention.minutes":                         "Log retention in minutes; overridden by log.retention.ms, and takes precedence over log.retention.hours. Negative means unlimited.",
	"log.retention.hours":                           "Log retention in hours; overridden by log.retention.minutes and log.retention.ms. Negative means unlimited.",
	"log.retention.bytes":                           "The largest size in bytes a partition's log may reach before its oldest segments are deleted (default for retention.bytes); -1 means no size limit.",
	"log.retention.check.interval.ms":               "How often in ms the broker checks whether any log segment is due for deletion under the retention settings.",
	"log.flush.offset.checkpoint.interval.ms":       "How often in ms the broker records every log's recovery point (the offset up to which it is known to be on disk) in recovery-point-offset-checkpoint; a restart after a crash checks only what lies past it. 0 records it at every tick.",
	"log.flush.start.offset.checkpoint.interval.ms": "Accepted for compatibility: Cloud Kafka writes a partition's log start offset to disk whenever it moves (a DeleteRecords is durable once acknowledged), so there is nothing to do periodically.",
	"log.segment.delete.delay.ms":                   "How long in ms the files of a log segment removed from the log (by retention, a follower's truncation or the cleaner) are kept, renamed with the suffix .deleted, before they are deleted (default for file.delete.delay.ms); reads already under way are served from them meanwhile. 0 deletes them at once.",
	"log.index.interval.bytes":                      "How many bytes of records are appended between two entries of the offset index (default for index.interval.bytes); smaller values make the index denser.",
	"log.index.size.max.bytes":                      "The largest size in bytes of a segment's offset index; a segment rolls when its index is full (default for segment.index.bytes).",
	"log.flush.interval.messages":                   "How many records may be appended to a partition before they are forced to disk with a sync (default for flush.messages); the default, the largest long, leaves syncing to the operating system.",
	"log.flush.interval.ms":                         "The longest time in ms appended records may stay in memory before a sync forces them to disk (default for flush.ms); the default, the largest long, means never.",
	"log.message.timestamp.type":                    "Which timestamp records are stored with: CreateTime (the producer's) or LogAppendTime (the broker's, set at append); default for message.timestamp.type.",
	"log.cleanup.policy":                            "The default retention policy for topics (default for cleanup.policy): a list of delete (drop old segments) and compact (keep the latest record per key).",

	// Log cleaner (compaction).
	"log.cleaner.enable":                  "Whether the log cleaner runs, compacting topics whose cleanup.policy includes compact.",
	"log.cleaner.threads":                 "How many log cleans run at once; at least 1 (log.cleaner.dedupe.buffer.size must give each more than 1MB).",
	"log.cleaner.dedupe.buffer.size":      "The memory in bytes, shared across the cleaner threads, used to map keys to their latest offsets while compacting.",
	"log.cleaner.io.buffer.size":          "The memory in bytes, shared across the cleaner threads, used for reading and writing segments while compacting.",
	"log.cleaner.io.buffer.load.factor":   "How full the cleaner's key map (the dedupe buffer, despite the name) may get before a clean stops adding keys to it; above 1, the map fills every slot but one.",
	"log.cleaner.io.max.bytes.per.second": "Kafka's throttle on the cleaner's read and write rate in bytes per second. Accepted for compatibility; no effect here.",
	"log.cleaner.backoff.ms":              "How long in ms the cleaner waits before checking again when no log needs cleaning.",
	"log.cleaner.min.cleanable.ratio":     "The least fraction of a log that must be uncleaned (dirty) before it is eligible for compaction (default for min.cleanable.dirty.ratio).",
	"log.cleaner.delete.retention.ms":     "How long in ms delete markers (tombstones) are kept in a compacted log (default for delete.retention.ms).",
	"log.cleaner.min.compaction.lag.ms":   "The least time in ms a record stays uncompacted in the log (default for min.compaction.lag.ms).",
	"log.cleaner.max.compaction.lag.ms":   "The longest time in ms a record may stay ineligible for compaction (default for max.compaction.lag.ms).",

	// Request and size limits, replication.
	"message.max.bytes":                         "The largest record batch in bytes the broker accepts (default for max.message.bytes); the effective bound is also limited by socket.request.max.bytes.",
	"socket.request.max.bytes":                  "The largest request in bytes the broker accepts on a connection.",
	"fetch.max.bytes":                           "The most bytes the broker returns in one fetch response (at least 1024).",
	"queued.max.request.bytes":                  "The request bytes read and not yet answered, over all connections, beyond which no more requests are read until answers free some; -1 (or any value <= 0): no bound. As in Kafka, a request is read while any room is left, even if it takes the total past the bound.",
	"max.incremental.fetch.session.cache.slots": "The most incremental fetch sessions (KIP-227) the broker keeps, over all consumers and followers; 0 keeps none, and every fetch is then answered without one. When the cache is full, a new session takes the slot of one unused for over 120 s; else a follower's takes the smallest consumer's, and a consumer's that of a smaller consumer's session over 120 s old; otherwise the fetch is answered without a session. Kafka divides the slots among 8 shards; here there is one.",
	"queued.max.requests":                       "How many requests the broker holds waiting at once (long-polling fetches, and requests that arrive before it is ready); beyond it they are answered at once.",
	"min.insync.replicas":                       "The fewest in-sync replicas that must hold a write for a produce with acks=all (-1) to succeed; fewer fail with NOT_ENOUGH_REPLICAS. Both a topic config and, on the broker, its default.",
	"unclean.leader.election.enable":            "Whether a replica outside the ISR may be elected leader when no in-sync replica is alive, at the risk of losing data. Both a topic config and, on the broker, its default.",
	"delete.topic.enable":                       "Whether topics may be deleted; when false, DeleteTopics is refused.",
	"auto.leader.rebalance.enable":              "Whether the controller periodically moves partition leadership back to each partition's preferred replica.",
	"leader.imbalance.check.interval.seconds":   "How often in seconds the controller checks whether partition leadership needs rebalancing.",
	"leader.imbalance.per.broker.percentage":    "The percentage of a broker's partitions that may be led by another broker before the controller rebalances leadership.",

	// Coordination and shutdown.
	"zookeeper.connect":                    "The coordination store's connection string (host:port list, optional chroot); empty runs the embedded coordinator here.",
	"zookeeper.session.timeout.ms":         "The coordination session timeout in ms: a broker that stays silent this long loses its registration.",
	"zookeeper.connection.timeout.ms":      "How long in ms a broker waits to establish its coordination session at start before retrying; unset, the session timeout.",
	"broker.rack":                          "The broker's rack, used to spread a partition's replicas across racks and reported in Metadata.",
	"controlled.shutdown.enable":           "Whether a broker asks the controller to move its leaderships away before it stops.",
	"controlled.shutdown.max.retries":      "How many times a controlled shutdown is attempted before the broker stops anyway; 0 or less makes no attempt.",
	"controlled.shutdown.retry.backoff.ms": "How long in ms a broker waits between controlled shutdown attempts; a negative value means no wait here.",

	// Replica fetching.
	"replica.lag.time.max.ms":          "How long in ms a follower may go without catching up to the leader before it is dropped from the ISR.",
	"replica.fetch.wait.max.ms":        "The longest time in ms a follower's fetch request waits at the leader for data; at most replica.lag.time.max.ms.",
	"replica.fetch.min.bytes":          "The fewest bytes a follower's fetch waits for before the leader answers.",
	"replica.fetch.max.bytes":          "The most bytes a follower fetches per partition in one request (a larger first batch is still returned).",
	"replica.fetch.response.max.bytes": "The most bytes a follower expects in one whole fetch response.",
	"replica.fetch.backoff.ms":         "How long in ms a follower waits before fetching again after a fetch error.",
	"num.replica.fetchers":             "How many fetch requests a follower keeps in flight to each leader.",

	// Limits of Cloud Kafka.
	"max.producers.per.partition": "The most idempotent producers whose state a partition remembers; beyond it, the one that wrote least recently is forgotten. Specific to Cloud Kafka.",
	"max.partitions.per.broker":   "The most partition replicas per live broker: a topic creation or partition increase that would exceed it in the cluster is refused. Specific to Cloud Kafka.",
	"log.scrub.bytes.per.second":  "The rate in bytes per second at which the log scrubber re-verifies the stored record batches of the partitions this broker hosts (header, length, CRC), one partition at a time, round and round (16 MiB/s by default; 0 disables it). Fetches may send stored bytes without checking them again: a batch damaged on the medium is found within one pass over the logs at this rate, logged, counted (cloudkafka_log_scrub_damaged_batches_total) and refused from then on with KAFKA_STORAGE_ERROR, with the rest of its segment. Specific to Cloud Kafka.",

	// Accepted for compatibility.
	"num.network.threads":                      "Kafka's count of network threads. Accepted for compatibility; no effect here.",
	"num.io.threads":                           "The number of IO workers that run storage work (appends, fsyncs, reads, log cleaning) off the event loop, one partition's work at a time each. Read at start; a dynamic change takes effect at the next start.",
	"socket.send.buffer.bytes":                 "Kafka's socket send buffer size in bytes (-1 = the OS default). Accepted for compatibility; no effect here.",
	"socket.receive.buffer.bytes":              "Kafka's socket receive buffer size in bytes (-1 = the OS default). Accepted for compatibility; no effect here.",
	"num.recovery.threads.per.data.dir":        "Kafka's threads per log directory for log recovery at start and flushing at shutdown. Accepted for compatibility; no effect here.",
	"transaction.state.log.replication.factor": "Kafka's replication factor of the transaction state topic. Accepted for compatibility; no effect here.",
	"transaction.state.log.min.isr":            "Kafka's min.insync.replicas for the transaction state topic. Accepted for compatibility; no effect here.",

	// TLS.
	"ssl.protocol":                          "The TLS protocol used to build the context: TLSv1.3, TLSv1.2 or TLS; older protocols are refused here.",
	"ssl.enabled.protocols":                 "The TLS protocol versions enabled on TLS listeners, comma-separated; only TLSv1.2 and TLSv1.3 are supported here.",
	"ssl.provider":                          "Kafka's name of the Java security provider for TLS. Accepted for compatibility; no effect here.",
	"ssl.keystore.type":                     "The key store's format. Only PEM is supported here (Kafka's default, JKS, is refused when a key store is given).",
	"ssl.keystore.location":                 "The path of the key store file: here a PEM file holding the private key and its certificate chain.",
	"ssl.keystore.password":                 "The key store file's password; not allowed with a PEM key store, so not usable here (use ssl.key.password).",
	"ssl.key.password":                      "The password of the key store's private key, needed when the PEM key is encrypted (PKCS#8).",
	"ssl.keystore.key":                      "The private key in PEM (PKCS#8), given inline, with ssl.keystore.certificate.chain; requires ssl.keystore.type=PEM.",
	"ssl.keystore.certificate.chain":        "The certificate chain in PEM, leaf first, given inline with ssl.keystore.key; requires ssl.keystore.type=PEM.",
	"ssl.truststore.type":                   "The trust store's format. Only PEM is supported here; without a trust store the system's root certificates are trusted.",
	"ssl.truststore.location":               "The path of the trust store file: here a PEM file of trusted CA certificates.",
	"ssl.truststore.password":               "The trust store file's password; not allowed with a PEM trust store, so not usable here.",
	"ssl.truststore.certificates":           "Trusted CA certificates in PEM, given inline; requires ssl.truststore.type=PEM.",
	"ssl.keymanager.algorithm":              "Kafka's Java key manager factory algorithm. Accepted for compatibility; no effect here.",
	"ssl.trustmanager.algorithm":            "Kafka's Java trust manager factory algorithm. Accepted for compatibility; no effect here.",
	"ssl.endpoint.identification.algorithm": "How a peer's host name is checked against its certificate: https checks it, empty checks nothing; no other value is supported.",
	"ssl.secure.random.implementation":      "Kafka's Java SecureRandom implementation for TLS. Accepted for compatibility; no effect here.",
	"ssl.client.auth":                       "Whether TLS clients must present a certificate: required, requested (optional) or none.",
	"ssl.cipher.suites":                     "The TLS cipher suites enabled, comma-separated; empty uses the runtime's defaults.",
	"ssl.principal.mapping.rules":           "Rules mapping a client certificate's distinguished name to a principal name, as in Kafka (RULE:pattern/replacement/[LU], DEFAULT).",
	"ssl.engine.factory.class":              "Kafka's pluggable TLS engine factory class. Accepted for compatibility; no effect here.",
	"ssl.allow.dn.changes":                  "Kafka's switch allowing a reconfigured key store's certificate to change its distinguished name. Accepted for compatibility; no effect here.",
	"ssl.allow.san.changes":                 "Kafka's switch allowing a reconfigured key store's certificate to change its subject alternative names. Accepted for compatibility; no effect here.",

	// Authorization.
	"authorizer.class.name":             "The authorizer class; Kafka's AclAuthorizer (or its older name SimpleAclAuthorizer) turns on ACL checks, and empty allows every request. No other class is supported.",
	"super.users":                       "Semicolon-separated principals (such as User:admin) allowed every operation regardless of ACLs.",
	"allow.everyone.if.no.acl.found":    "Whether a resource no ACL applies to is open to every principal.",
	"authorizer.acl.bindings.max":       "The most ACL bindings the cluster may hold; a CreateAcls that would exceed it is refused. Specific to Cloud Kafka.",
	"authorizer.denied.log.max":         "How many authorization denials per principal and client address are logged per authorizer.denied.log.interval.ms; the rest are counted. Specific to Cloud Kafka.",
	"authorizer.denied.log.interval.ms": "The window in ms over which authorizer.denied.log.max applies. Specific to Cloud Kafka.",
	"authorizer.audit.keys.max":         "The most (principal, client address) pairs whose denials are tracked for logging. Specific to Cloud Kafka.",

	// Client quotas.
	"quota.window.num":            "The number of samples kept to measure a client's rate against its quota.",
	"quota.window.size.seconds":   "The length in seconds of each sample used to measure a client's rate.",
	"quota.sensors.max":           "The most (user, client id) rates tracked for quotas; beyond it idle ones are forgotten. Specific to Cloud Kafka.",
	"client.quota.callback.class": "Kafka's pluggable quota callback class; only empty (the default quotas, from the coordination store) is supported here.",

	// SASL.
	"sasl.enabled.mechanisms":                    "The SASL mechanisms enabled on SASL listeners; PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 are served here, others (GSSAPI, OAUTHBEARER) are accepted and logged as not served.",
	"sasl.mechanism.inter.broker.protocol":       "The SASL mechanism a broker authenticates to its peers with when the inter-broker listener uses SASL.",
	"sasl.jaas.config":                           "The JAAS login module configuration for SASL, in JAAS file format; PLAIN users are its user_<name> options.",
	"connections.max.reauth.ms":                  "The longest time in ms an authenticated SASL session lasts before the client must re-authenticate; 0 means sessions never expire.",
	"connection.failed.authentication.delay.ms":  "How long in ms the answer to a failed authentication, and the close after it, is delayed.",
	"sasl.server.max.receive.size":               "The largest SASL token (or request before authentication) in bytes the broker accepts.",
	"sasl.failed.authentication.log.max":         "How many failed authentications per client address are logged per sasl.failed.authentication.log.interval.ms; the rest are counted. Specific to Cloud Kafka.",
	"sasl.failed.authentication.log.interval.ms": "The window in ms over which the authentication log limits apply. Specific to Cloud Kafka.",
	"sasl.authentication.log.max":                "How many successful authentications per principal and client address are logged per interval; the rest are counted. Specific to Cloud Kafka.",
	"sasl.failed.authentication.addresses.max":   "The most client addresses whose failed authentications are tracked for logging. Specific to Cloud Kafka.",
	"sasl.failed.authentication.pending.max":     "The most failed-authentication answers waiting for their delay; beyond it the connection is closed at once. Specific to Cloud Kafka.",
	"sasl.sessions.max":                          "The most SASL connections the broker keeps authentication state for; beyond it a connection is closed. Specific to Cloud Kafka.",
	"sasl.scram.users.max":                       "The most SCRAM users whose credentials the broker keeps. Specific to Cloud Kafka.",
	"sasl.kerberos.service.name":                 "Kafka's Kerberos service name for GSSAPI. Accepted for compatibility; no effect here.",
	"sasl.kerberos.principal.to.local.rules":     "Kafka's rules mapping Kerberos principals to short names. Accepted for compatibility; no effect here.",
	"sasl.server.callback.handler.class":         "Kafka's server-side SASL callback handler class. Accepted for compatibility; no effect here.",
	"sasl.login.class":                           "Kafka's SASL Login class. Accepted for compatibility; no effect here.",
	"sasl.login.callback.handler.class":          "Kafka's SASL login callback handler class. Accepted for compatibility; no effect here.",

	// Group coordinator and offsets.
	"group.min.session.timeout.ms":        "The shortest session timeout in ms a consumer group member may ask for.",
	"group.max.session.timeout.ms":        "The longest session timeout in ms a consumer group member may ask for.",
	"group.max.size":                      "The most members a consumer group may have.",
	"group.initial.rebalance.delay.ms":    "How long in ms the coordinator waits for more members to join a new (empty) group before its first rebalance.",
	"offsets.topic.num.partitions":        "The number of partitions of the offsets topic (__consumer_offsets); fixed once it is created.",
	"offsets.topic.segment.bytes":         "The segment size in bytes of the offsets topic.",
	"offsets.retention.minutes":           "How long in minutes a group's committed offsets are kept once the group is empty (or, for standalone consumers, since their last commit).",
	"offsets.retention.check.interval.ms": "How often in ms the coordinator checks for expired committed offsets.",
	"offset.metadata.max.bytes":           "The longest metadata string accepted with a committed offset.",
	"offsets.load.buffer.size":            "The bytes read per step when a coordinator loads the offsets topic into its cache.",
	"offsets.commit.timeout.ms":           "How long in ms an offset commit waits for the offsets topic's replicas to hold it before it fails.",
	"offsets.topic.replication.factor":    "The replication factor of the offsets topic; it gets fewer replicas if fewer brokers are live when it is created.",
	"offsets.commit.required.acks":        "The acks an offset commit needs before it is answered: -1 waits for the ISR; 0 and 1 for the local write. Values above 1 fail each commit.",
	"offsets.topic.compression.codec":     "Kafka's compression codec for the offsets topic. Accepted for compatibility; no effect here (it is written uncompressed).",

	// Topic configs (min.insync.replicas and
	// unclean.leader.election.enable share their broker property's name
	// and entry, above).
	"cleanup.policy":            "The topic's retention policy: a list of delete (drop old segments under the retention settings) and compact (keep the latest record per key).",
	"delete.retention.ms":       "How long in ms delete markers (tombstones) are kept in a compacted topic, so consumers reading from the start still see them.",
	"file.delete.delay.ms":      "How long in ms the files of a log segment removed from the log are kept, renamed with the suffix .deleted, before they are deleted; 0 deletes them at once.",
	"flush.messages":            "How many records may be appended to a partition before a sync forces them to disk; the default, the largest long, leaves it to the operating system.",
	"flush.ms":                  "The longest time in ms appended records may wait before a sync forces them to disk; the default, the largest long, means never.",
	"index.interval.bytes":      "How many bytes of records are appended between two offset index entries; smaller values make the index denser.",
	"max.compaction.lag.ms":     "The longest time in ms a record may stay ineligible for compaction; a compacted topic's segments roll within it.",
	"max.message.bytes":         "The largest record batch in bytes the topic accepts.",
	"message.timestamp.type":    "Which timestamp records are stored with: CreateTime (the producer's) or LogAppendTime (the broker's, set at append).",
	"min.cleanable.dirty.ratio": "The least fraction of the log that must be uncleaned (dirty) before it is eligible for compaction.",
	"min.compaction.lag.ms":     "The least time in ms a record stays uncompacted in the log.",
	"retention.bytes":           "The largest size in bytes a partition's log may reach before its oldest segments are deleted under the delete policy; -1 means no size limit.",
	"retention.ms":              "How long in ms records are kept before their segment is deleted under the delete policy; -1 keeps them forever.",
	"segment.bytes":             "The largest size in bytes of one log segment before a new one is rolled.",
	"segment.index.bytes":       "The largest size in bytes of a segment's offset index; the segment rolls when it is full.",
	"segment.ms":                "The longest time in ms before a new log segment is rolled, even if the active one is not full.",
}

// docOf returns a config's documentation (nil when none).
func docOf(name string) *string {
	if d, ok := configDocs[name]; ok {
		return &d
	}
	return nil
}
