"""hubtools: the `hub` command and the developer's tools: a local Apache Kafka from Maven
Central, a throwaway PostgreSQL, `hub run`, `hub db`, `hub replay` (the matcher's offline
rebuild), demo data and the benchmarks behind `make bench`."""
