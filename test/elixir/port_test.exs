defmodule Otpc.PortTest do
  # otpc_port from Elixir: start under a supervisor, pipelined calls,
  # integers of any size, events under credits, and a crash that names the
  # signal to the caller and is restarted.
  use ExUnit.Case, async: true
  import Otpc.TestSupport

  setup do
    %{path: executable("otpc-port-example")}
  end

  test "calls from Elixir, replies in any order", %{path: path} do
    {:ok, port} = :otpc_port.start_link(path, %{})
    blocked = Task.async(fn -> :otpc_port.call(port, {:block, :t}, 30_000) end)
    wait_until(fn -> :otpc_port.info(port).in_flight == 1 end)
    assert {:ok, "hé"} == :otpc_port.call(port, {:echo, "hé"}, 5_000)
    assert {:ok, %{a: [1, 2.5]}} == :otpc_port.call(port, {:echo, %{a: [1, 2.5]}}, 5_000)
    big = 123_456_789_012_345_678_901_234_567_890
    assert {:ok, big - 1} == :otpc_port.call(port, {:add, big, -1}, 5_000)
    assert {:ok, {:ok, 1}} == :otpc_port.call(port, {:unblock, :t}, 5_000)
    assert {:ok, :ok} == Task.await(blocked)
    :ok = :otpc_port.stop(port)
  end

  test "events arrive only as credits allow", %{path: path} do
    {:ok, port} = :otpc_port.start_link(path, events: self(), event_window: 4)
    assert {:ok, {:ok, 10}} == :otpc_port.call(port, {:stream, 10}, 5_000)
    assert {:ok, :sync} == :otpc_port.call(port, {:echo, :sync}, 5_000)
    assert {:message_queue_len, 4} == Process.info(self(), :message_queue_len)
    for i <- 1..4, do: assert_receive({:otpc_port_event, ^port, {:item, ^i}})
    :ok = :otpc_port.credit(port, 6)
    for i <- 5..10, do: assert_receive({:otpc_port_event, ^port, {:item, ^i}}, 5_000)
    :ok = :otpc_port.stop(port)
  end

  test "a crash names the signal and the supervisor restarts", %{path: path} do
    children = [:otpc_port.child_spec(path, %{id: :example})]
    {:ok, sup} = Supervisor.start_link(children, strategy: :one_for_one)
    [{:example, old, _, _}] = Supervisor.which_children(sup)
    assert {:error, {:port_crashed, :sigsegv}} == :otpc_port.call(old, :crash, 5_000)

    wait_until(fn ->
      match?([{:example, pid, _, _}] when is_pid(pid) and pid != old, Supervisor.which_children(sup))
    end)

    [{:example, new, _, _}] = Supervisor.which_children(sup)
    assert {:ok, :again} == :otpc_port.call(new, {:echo, :again}, 5_000)
    Supervisor.stop(sup)
  end

  defp wait_until(fun, deadline \\ System.monotonic_time(:millisecond) + 15_000) do
    cond do
      fun.() -> :ok
      System.monotonic_time(:millisecond) > deadline -> flunk("condition not met before the deadline")
      true ->
        receive do
        after
          20 -> wait_until(fun, deadline)
        end
    end
  end
end
