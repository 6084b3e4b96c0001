//! Static server for the app bundle (filled in by the integrator).
