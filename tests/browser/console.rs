//! The vault console in real headless Chromium.
