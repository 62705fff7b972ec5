"""The reports the incidents service computes from its own tables: the key-industry
table and its exports, the accident-rate trend, floating-rate advice, the annual
submission, and the pages, one-use links and routes that show them."""
