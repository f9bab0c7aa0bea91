//! The Prometheus text exposition format and OpenMetrics text. (Being written.)
