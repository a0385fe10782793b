//! Key rotation while the service runs (filled in below).
