//! `ikedaemon`: the IKEv2 keying daemon (see ikedaemon(8)).

fn main() -> std::process::ExitCode {
    ikedaemon::proc::main()
}
