"""Events and Kafka: the topic registry and payload models, CloudEvents envelopes,
the producer, the transactional outbox and its relay, and the consumer loop with its
inbox of processed events.
"""
