//! TEMPORARY during development
pub fn run(_ctx: &crate::cli::Ctx) -> crate::Result<i32> {
    Err(crate::Error::Other("tui not built yet".into()))
}
