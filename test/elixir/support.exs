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
