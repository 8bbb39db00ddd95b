defmodule Otpc.RpcTest do
  # rpc and erpc into otpc-node from Elixir: :erpc.call, :rpc.call,
  # Node.spawn/spawn_link/spawn_monitor, with results and error shapes as
  # Elixir sees them for an Erlang node.
  use ExUnit.Case, async: false
  alias Otpc.TestSupport.CNode

  @timeout 30_000

  setup do
    {port, node} = CNode.start([])
    {:os_pid, os_pid} = Port.info(port, :os_pid)
    on_exit(fn -> System.cmd("kill", ["-KILL", Integer.to_string(os_pid)], stderr_to_stdout: true) end)
    %{node: node}
  end

  test ":erpc.call runs C functions", %{node: node} do
    term = %{name: "otpc", list: [1, 2.5, :x], big: Integer.pow(2, 200)}
    assert :erpc.call(node, :otpc_node, :echo, [term]) == term
    assert :erpc.call(node, :otpc_node, :add, [Integer.pow(10, 40), -1]) == Integer.pow(10, 40) - 1
  end

  test ":erpc.call raises as for an Erlang function", %{node: node} do
    assert {:exception, :boom, [{:otpc_node, :fail, 1, []}]} =
             catch_error(:erpc.call(node, :otpc_node, :fail, [:boom]))

    # The same undef an Elixir node raises for a missing function.
    here = catch_error(:erpc.call(node(), :nomod, :nofun, [1]))
    assert catch_error(:erpc.call(node, :nomod, :nofun, [1])) == here
    assert catch_throw(:erpc.call(node, :otpc_rpc_test, :throw, [:t])) == :t
    assert catch_exit(:erpc.call(node, :otpc_rpc_test, :exit, [:r])) == {:exception, :r}
  end

  test ":rpc.call returns values and badrpc tuples", %{node: node} do
    assert :rpc.call(node, :otpc_node, :echo, ["text"]) == "text"
    assert {:badrpc, {:EXIT, {:boom, [{:otpc_node, :fail, 1, []}]}}} =
             :rpc.call(node, :otpc_node, :fail, [:boom])

    assert :rpc.call(node, :nomod, :nofun, []) == :rpc.call(node(), :nomod, :nofun, [])
  end

  test "Node.spawn, spawn_link and spawn_monitor start a C process entry", %{node: node} do
    me = self()
    pid = Node.spawn(node, :otpc_rpc_test, :proc, [me])
    assert_receive {:hello, ^pid}, @timeout
    send(pid, {:echo, me, :ping})
    assert_receive :ping, @timeout
    send(pid, {:stop, :normal})

    {pid2, ref} = Node.spawn_monitor(node, :otpc_rpc_test, :proc, [me])
    assert_receive {:hello, ^pid2}, @timeout
    send(pid2, {:stop, :bye})
    assert_receive {:DOWN, ^ref, :process, ^pid2, :bye}, @timeout

    Process.flag(:trap_exit, true)
    pid3 = Node.spawn_link(node, :otpc_rpc_test, :proc, [me])
    assert_receive {:hello, ^pid3}, @timeout
    send(pid3, {:stop, :linked})
    assert_receive {:EXIT, ^pid3, :linked}, @timeout
  end
end
