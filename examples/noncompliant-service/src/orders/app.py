from flask import Flask, jsonify, request

app = Flask(__name__)
ORDERS = []


@app.post("/orders")
def create_order():
    ORDERS.append(request.get_json())
    return jsonify(id=len(ORDERS)), 201


@app.get("/orders/<int:order_id>")
def get_order(order_id):
    return jsonify(ORDERS[order_id - 1])


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=8080)
