-- gridedge MDMS on PostgreSQL, schema version 3: declared outages and the network
-- topology, the same data as the SQLite store's outage and topo_* tables.
--
-- Outage times are timestamptz at millisecond resolution (UTC). An outage row is keyed by
-- its id (`<scope kind>:<scope id>:<start in Unix milliseconds>`); its interrupted meters
-- are rows of outage_meter, deleted with it. The topology is replaced as a whole on save.

CREATE TABLE outage (
    id                    text COLLATE "C" PRIMARY KEY,
    scope_kind            text NOT NULL CHECK (scope_kind IN ('feeder', 'transformer', 'meter')),
    scope_id              text COLLATE "C" NOT NULL,
    started_at            timestamptz NOT NULL,
    ended_at              timestamptz,
    state                 text NOT NULL CHECK (state IN ('open', 'closed')),
    class                 text CHECK (class IN ('momentary', 'sustained')),
    customers_interrupted bigint NOT NULL,
    customer_minutes      double precision,
    reporting_meters      bigint NOT NULL,
    updated_at            timestamptz NOT NULL,
    CHECK ((state = 'open') = (ended_at IS NULL))
);
CREATE INDEX outage_by_start ON outage (started_at);
CREATE INDEX outage_open ON outage (started_at) WHERE state = 'open';

CREATE TABLE outage_meter (
    outage_id        text COLLATE "C" NOT NULL REFERENCES outage (id) ON DELETE CASCADE,
    meter            text COLLATE "C" NOT NULL,
    reported_down_at timestamptz,
    restored_at      timestamptz,
    restore          text CHECK (restore IN ('event', 'proof', 'inferred')),
    PRIMARY KEY (outage_id, meter)
);
CREATE INDEX outage_meter_by_meter ON outage_meter (meter);

CREATE TABLE topo_feeder (
    id text COLLATE "C" PRIMARY KEY
);
CREATE TABLE topo_transformer (
    id     text COLLATE "C" PRIMARY KEY,
    feeder text COLLATE "C" NOT NULL REFERENCES topo_feeder (id)
);
-- Role 'customer' or 'check'; at most one check meter per transformer.
CREATE TABLE topo_service_point (
    meter       text COLLATE "C" PRIMARY KEY,
    transformer text COLLATE "C" NOT NULL REFERENCES topo_transformer (id),
    role        text NOT NULL CHECK (role IN ('customer', 'check'))
);
CREATE INDEX topo_service_point_by_transformer ON topo_service_point (transformer);
CREATE UNIQUE INDEX topo_one_check_meter ON topo_service_point (transformer) WHERE role = 'check';
CREATE TABLE topo_dma (
    id text COLLATE "C" PRIMARY KEY
);
CREATE TABLE topo_dma_meter (
    dma   text COLLATE "C" NOT NULL REFERENCES topo_dma (id),
    meter text COLLATE "C" NOT NULL,
    role  text NOT NULL CHECK (role IN ('inlet', 'outlet', 'customer')),
    PRIMARY KEY (dma, meter)
);
