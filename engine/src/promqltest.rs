//! Prometheus's promqltest file format and a runner on this engine. (Being written.)
