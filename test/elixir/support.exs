defmodule Otpc.TestSupport do
  @moduledoc "Paths and port helpers shared by the ExUnit tests."

  def executable(name) do
    build = System.get_env("OTPC_BUILD") || raise "OTPC_BUILD is not set: run the tests with `make test`"
    path = Path.join([build, "bin", name])
    File.regular?(path) || raise "missing program #{path}: build it with `make`"
    path
  end

  def open_port_program(name) do
    Port.open({:spawn_executable, executable(name)}, [{:packet, 4}, :binary, :exit_status, :use_stdio])
  end

  def port_call(port, request, timeout \\ 30_000) do
    true = Port.command(port, :erlang.term_to_binary(request))

    receive do
      {^port, {:data, reply}} -> :erlang.binary_to_term(reply)
      {^port, {:exit_status, status}} -> raise "port program exited with #{status} on #{inspect(request)}"
    after
      timeout -> raise "no reply from the port program to #{inspect(request)}"
    end
  end
end

defmodule Otpc.TestSupport.CNode do
  @moduledoc """
  Starts otpc-node (the reference C node) from a test, waits for its
  `ready NAME@HOST` line (never a sleep) and stops it with SIGTERM.
  """

  # Starts otpc-node with a fresh short name and this node's cookie; extra
  # args such as ["--hidden"]. Returns {port, node_name_atom}.
  def start(args \\ []) do
    name = "excnode#{System.unique_integer([:positive])}"
    cookie = Atom.to_string(Node.get_cookie())
    port =
      Port.open({:spawn_executable, Otpc.TestSupport.executable("otpc-node")}, [
        {:args, ["--sname", name, "--cookie", cookie | args]},
        {:line, 65_536},
        :binary,
        :exit_status,
        :stderr_to_stdout
      ])

    {port, wait_ready(port)}
  end

  defp wait_ready(port) do
    receive do
      {^port, {:data, {:eol, "ready " <> node}}} -> String.to_atom(node)
      {^port, {:data, _}} -> wait_ready(port)
      {^port, {:exit_status, s}} -> raise "otpc-node exited with #{s} before its ready line"
    after
      30_000 -> raise "otpc-node printed no ready line in 30 s"
    end
  end

  # SIGTERM, then the exit status (0 expected), lines printed meanwhile skipped.
  def stop(port) do
    {:os_pid, os_pid} = Port.info(port, :os_pid)
    System.cmd("kill", ["-TERM", Integer.to_string(os_pid)])
    wait_exit(port)
  end

  defp wait_exit(port) do
    receive do
      {^port, {:exit_status, s}} -> s
      {^port, {:data, _}} -> wait_exit(port)
    after
      10_000 -> raise "otpc-node did not exit within 10 s of SIGTERM"
    end
  end
end
