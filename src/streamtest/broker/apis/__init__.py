"""One module per Kafka API, named after its key (``k00_produce`` is key 0).

Importing this package registers every handler with the dispatcher.
"""

from . import (  # noqa: F401
    k00_produce,
    k01_fetch,
    k02_list_offsets,
    k03_metadata,
    k18_api_versions,
    k19_create_topics,
    k20_delete_topics,
    k21_delete_records,
    k22_init_producer_id,
    k32_describe_configs,
    k33_alter_configs,
    k37_create_partitions,
    k44_incremental_alter_configs,
    k60_describe_cluster,
)
