"""streamtest: test Kafka streaming pipelines fast and for real.

The embedded broker speaks the Kafka wire protocol, so real clients
(confluent-kafka, kafka-python, aiokafka, kcat, ...) connect to it unchanged.
"""

from .embedded import BrokerStartError, EmbeddedKafka
from .types import KafkaRecord

__all__ = ["BrokerStartError", "EmbeddedKafka", "KafkaRecord"]
__version__ = "0.1.0"
