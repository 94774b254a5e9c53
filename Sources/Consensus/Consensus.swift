// Consensus: the leader lease (DynamoDB or a local SQLite file), leader election and fenced writes.
